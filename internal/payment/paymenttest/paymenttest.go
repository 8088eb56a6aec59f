// Package paymenttest is the contract suite of the payment service's
// Repository port: every adapter (SQLite, PostgreSQL) runs TestRepository
// to prove it keeps one payment per order, stores operations once, writes
// the events of each change and only of changes that happened, and loses
// no write under concurrency. It also holds the test helpers the adapters'
// tests share.
package paymenttest
