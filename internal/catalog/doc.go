// Package catalog is the domain of Agora's catalog: products with their
// prices, attributes and images, the categories they belong to, and the life
// of a product from draft to active (on sale) to archived (off sale for
// good). It holds the rules only: aggregates guard their invariants behind
// unexported fields, changes record domain events as plain Go values, and
// nothing here knows about SQL, Kafka, HTTP or AWS. Times are kept to the
// microsecond, the precision every store keeps.
package catalog
