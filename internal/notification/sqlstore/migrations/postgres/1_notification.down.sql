DROP TABLE notification_messages;
DROP TABLE notification_recipients;
