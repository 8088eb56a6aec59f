-- Reverts 1_orders.up.sql.
DROP TABLE orders;
