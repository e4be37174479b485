-- The normalizer now gives Norwegian one code, no, Bokmål included (it gave a declared Bokmål nb): the
-- articles stored as nb say no, in the column the language filter reads and in the stored JSON the read
-- side serves, so that one language is one filter. Full text is indexed with the 'simple' configuration
-- whatever the language: nothing to rebuild. Found through articles_language (0004); a second run finds
-- no row to change.
UPDATE articles SET language = 'no', payload = jsonb_set(payload, '{language}', '"no"') WHERE language = 'nb';
