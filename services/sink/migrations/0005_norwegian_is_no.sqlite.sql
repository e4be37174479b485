-- The normalizer now gives Norwegian one code, no, Bokmål included (it gave a declared Bokmål nb): the
-- articles stored as nb say no, in the column the language filter reads and in the stored JSON the read
-- side serves, so that one language is one filter. FTS5 indexes title and body whatever the language,
-- and no trigger fires on this update: nothing to rebuild. Found through articles_language (0004); a
-- second run finds no row to change. json_set writes the JSON without insignificant whitespace (the
-- normalizer's messages have none).
UPDATE articles SET language = 'no', payload = json_set(payload, '$.language', 'no') WHERE language = 'nb';
