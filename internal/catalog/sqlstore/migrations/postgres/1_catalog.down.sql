DROP TABLE catalog_products;
DROP TABLE catalog_categories;
