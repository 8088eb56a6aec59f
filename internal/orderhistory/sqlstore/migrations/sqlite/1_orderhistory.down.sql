DROP TABLE orderhistory_active;
DROP TABLE orderhistory_generations;
