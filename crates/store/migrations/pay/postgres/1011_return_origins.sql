-- The origins a payment of this city may send the payer back to (one per
-- line), set by the operator; everything else is refused at creation.
ALTER TABLE merchants ADD COLUMN return_origins TEXT NOT NULL DEFAULT '';
