DROP TABLE stock_reservation_lines;
DROP TABLE stock_reservations;
DROP TABLE stock;
DROP TABLE stock_items;
