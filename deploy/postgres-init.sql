-- deploy/compose.yml: Rasa's tracker store gets a database of its own beside the product's (carrier).
CREATE DATABASE carrier_tracker OWNER carrier;
