-- The signed-in resident a payment is for (the portal's opaque name for
-- them): only then may the card page offer to save the card.
ALTER TABLE payments ADD COLUMN customer TEXT;
