DROP TABLE payment_ledger_entries;
DROP TABLE payment_operations;
DROP TABLE payments;
