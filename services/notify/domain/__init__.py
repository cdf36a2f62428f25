"""notify's rules, without I/O: who hears of an event and on which channel (planning), what they are told
(messages, templates), the delivery log's states and retries (deliveries), quiet hours, webhook
signatures, who may read a delivery log (access) and the answers' shapes (views). Time is passed in."""
