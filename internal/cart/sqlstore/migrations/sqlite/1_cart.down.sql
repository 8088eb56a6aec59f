DROP TABLE cart_products;
DROP TABLE cart_lines;
DROP TABLE carts;
