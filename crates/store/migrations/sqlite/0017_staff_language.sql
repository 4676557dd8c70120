-- The language each staff member reads the console in; NULL until they
-- choose, when the console follows the city's default language.
ALTER TABLE staff_users ADD COLUMN language TEXT;
