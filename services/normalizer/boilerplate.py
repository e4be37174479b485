"""Publisher boilerplate: paragraphs that belong to the page, not to the story.

Two mechanisms, both on paragraphs of clean text:

* **rules** (:func:`rule_matches`): patterns for what every publisher writes the same way (ad-blocker
  notices, newsletter and share prompts, "read more" tails, copyright footers, related-link blocks). A
  *notice* rule also removes the paragraphs of the same notice that follow it, while they still read like
  that notice; a *heading* rule ("Related stories") removes the run of link paragraphs under it.
* **learning** (:class:`BoilerplateModel`): per source, the paragraphs that recur across many different
  items. It is a plain data structure with bounded memory; the service feeds and persists it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from services.normalizer.regexstart import first_character

# Longer paragraphs are story text: no rule applies to them, so a news paragraph that happens to
# mention a newsletter or an ad blocker is never removed.
RULE_MAX_CHARS = 500
NOTICE_FOLLOWERS = 3  # paragraphs after a notice's first line that may belong to the same notice
RELATED_FOLLOWERS = 12  # link paragraphs after a "Related" heading
RELATED_LINK_DENSITY = 0.6

# English, then German, French, Spanish, Italian, Portuguese and Dutch where a rule has words to match.
_SHARE_WORDS = r"(?:share|tweet|email|e-mail|print|facebook|twitter|x|linkedin|whatsapp|pinterest|reddit|" \
    r"telegram|flipboard|messenger|copy link|copy|sms|comments?|teilen|drucken|kommentare|partager|imprimer|" \
    r"compartir|imprimir|condividi|stampa|compartilhar|delen|reageer)"
# "Read more" in the other languages, as a paragraph of its own or glued to the end of one.
_READ_MORE_ABROAD = r"weiterlesen|mehr lesen|lire la suite|leer más|seguir leyendo|continua a leggere|leggi tutto|" \
    r"leia mais|continuar lendo|lees verder|lees meer"
_READ_MORE = (
    r"(?:read (?:more|the (?:full|original|rest of the) (?:story|article|post)|the rest)|continue reading|"
    rf"keep reading|click here to read|{_READ_MORE_ABROAD}|(?:continuer|poursuivre) la lecture|"
    r"continuar leyendo|continuare a leggere|"
    # and as a paragraph of its own in the Nordic languages: NTB's "Les faktasjekken på Faktisk.no" under
    # a fact check it carries, "Les mer", "Läs mer", "Læs mere", "Lue lisää"
    r"les (?:mer|hele (?:saken|artikkelen)|(?:saken|artikkelen|faktasjekken) (?:på|hos))|"
    r"läs (?:mer|hela (?:artikeln|texten))|læs (?:mere|hele (?:artiklen|historien))|lue lisää)"
)
# A wire's or agencies' name in an outlet's note that its story came from them ("PTI", "Reuters, AFP",
# "agencies"): capitalised words, or the words for agencies in general.
_WIRE_NAME = r"(?-i:[A-Z][\w.&'’-]*)|agencies|agency|news|wires?|and|&"
# WordPress' feed footer, "The post X appeared first on Y.", as its translations print it.
_FIRST_ON = r"(?:the post|der beitrag|l[’']article|la entrada|l[’']articolo|o post|het bericht) .{1,300}? " \
    r"(?:appeared first on|erschien zuerst auf|est apparu en premier sur|(?:se publicó|apareció|aparece) " \
    r"primero en|proviene da|sembra essere il primo su|apareceu primeiro em|verscheen eerst op) .{1,200}"
# What follows "Updated" or "Published" on a page's date line: a date or a time ("1 December 2026", "Dec. 1",
# "10:30", "2 hours ago"), not a publisher's name or a year's figures ("Updated 2026 forecasts show …").
_MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_TIME_WORDS = rf"{_MONTH_WORD}\s+\d|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_WORD}|\d{{1,2}}[:.]\d{{2}}|" \
    r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|(?:\d+|an?|one|two|few) (?:hours?|minutes?|mins?|days?|weeks?) ago|" \
    r"yesterday|today|just now|(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+\d"

# A link's label alone: a rule of its own, and the last line of TechCrunch's company profiles (company_box).
_LEARN_MORE_LINK = r"learn more\s*(?:»|›|→|\.\.\.|…)?"
# An e-mail address: a rule of its own (a reporter's address under the story) and a signature's contact.
_MAIL_ADDRESS = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"

_SINGLE_RULES = [
    # feed-reader notes: "[If the formatting looks odd in your feed reader, visit the original article]"
    r"\[?if (?:the )?(?:formatting|this (?:post|article)|it) (?:looks?|is|appears?) (?:odd|off|broken|wrong|"
    r"strange|garbled) in your (?:feed|rss) reader.{0,120}",
    # "read more" tails and feed footers
    rf"{_READ_MORE}\b.{{0,200}}",
    _FIRST_ON,
    # and The Conversation's "This article is republished from The Conversation under a Creative Commons license."
    r"this (?:article|story|post) (?:was |is |has been )?(?:originally |first )?(?:re)?(?:published|appeared) "
    r"(?:on|in|at|by|from)\b"
    r".{0,200}",
    # a republishing note that names the licence first: 360info's "Originally published under Creative Commons
    # by 360info™."
    r"(?:originally |first )?(?:re)?published under (?:a |the )?creative commons\b.{0,200}",
    # a members-only story's notes: Medium's "The story will be unlocked and available to all of our readers
    # after 30 days.", "Previously available only to Medium members, we are now pleased to offer this article
    # for free to everyone."
    r"(?:the|this) (?:article|story|post) will be unlocked\b.{0,150}|"
    r"previously available only to (?:medium )?members\b.{0,200}",
    r"related(?: (?:stories|articles|coverage|content|news|links))? ?:.{1,200}",
    # a related link inline: "See also: …", "Lesen Sie auch: …", "Lire aussi : …", Indian outlets' "Also Read | …"
    r"(?:see also|also read|read also|also watch|lesen sie (?:auch|mehr)|mehr zum thema|(?:à )?lire aussi|"
    r"(?:à )?voir aussi|lee también|ver también|leggi anche|(?:leia|veja) também|lees ook)\s*[:|]\s*.{1,200}",
    # an embedded video's label: "Watch: …", "WATCH | …"
    r"watch\s*[:|]\s*.{1,150}",
    # the page's dates and producer, printed under the story: "First Published: Dec 01 2026 | 10:30 AM IST"
    r"(?:first published|last updated|published (?:by|on|at)|updated on|posted on)\s*:\s*.{1,80}",
    # or unlabelled: "Updated 2 hours ago", "Published 1 December 2026" ("Published by Editions Empire, 2026"
    # names a book's publisher, and stays)
    rf"(?:(?:first|last) )?(?:updated|published|posted)(?: (?:on|at))?\s*(?:{_TIME_WORDS}).{{0,60}}",
    r"(?:aktualisiert|veröffentlicht|mis à jour|publié|actualizado|publicado|aggiornato|pubblicato|atualizado|"
    r"bijgewerkt|gepubliceerd)(?: (?:am|le|el|il|em|op))?\s*:?\s*\d.{0,60}",
    # a site's own sign-off: Mint's "Catch all the Business News, … on Live Mint. Download The Mint News App …"
    r"catch all the\b.{1,200}?\b(?:news|updates) (?:on|at)\b.{1,300}",
    # the labels of a video's embed codes, their codes gone with the scripts: NTB's "Embed (stor):"
    r"embed(?: ?code)? \((?:stor|medium|liten|large|small|big|groß|klein|grand|petit)\)",
    # an embedded document's link, its viewer gone with the scripts: TechCrunch's "View this document on Scribd"
    r"view (?:this|the) (?:document|presentation|publication) on (?:scribd|slideshare|issuu|document ?cloud)",
    # an e-mail's confidentiality footer, where wire copy arrives by mail: "This email may contain information
    # that is confidential. If you receive an email in error please delete it immediately."
    r"(?:this|the information in this) (?:e-?mail|message|communication|transmission)(?: and any "
    r"attachments?(?: to it)?)? (?:may contain|contains|is|are)\b.{0,200}?\b(?:confidential|privileged)\b"
    r".{0,300}?\b(?:received? (?:(?:this|an|the) )?(?:e-?mail |message |communication |transmission )?in error|"
    r"intended recipients?|addressee|notify the sender|delete (?:it|this|the))\b.{0,200}",
    # AP's pointer to its topic page under a story: "Follow AP's coverage of the war at https://apnews.com/hub/…"
    r"(?:follow|find|see|read) (?:more (?:of )?)?(?:the )?ap['’]s (?:coverage|reporting)\b.{0,200}|"
    r"more (?:ap|associated press) coverage\b.{0,200}",
    # a note that the story is still moving: AP's "THIS IS A BREAKING NEWS UPDATE. AP’s earlier story follows
    # below.", "This is a developing story and will be updated.", "Check back for updates."; the next
    # version of the story drops it, so it is no part of what its versions share
    r"this is a (?:breaking news update|developing (?:news )?story|breaking (?:news )?story)\b.{0,150}|"
    r"\(?(?:editor[’']?s[’']? note\s*[:—–-]\s*)?this (?:story|article|version) "
    r"(?:(?:has been|was|will be|is being) (?:updated|corrected|refiled|amended)|corrects)\b.{0,200}|"
    r"(?:please )?check back (?:later )?for (?:updates|more)\b.{0,100}",
    # the wires' credit in general: "Wire services contributed to this report.", "Additional reporting by
    # agencies"; and The Canadian Press' line under its copy, "This report by The Canadian Press was first
    # published Dec. 1, 2026." (a crediting footer: its agency still counts)
    r"(?:(?:news |wire )?(?:agencies|services|wires) contributed to this (?:report|story|article)|additional "
    r"reporting by (?:news |wire )?(?:agencies|services|wires))\.?|"
    r"this (?:report|story|article) by .{2,60}? was first published\b.{0,60}",
    # dpa's mark under copy German sites carry: "© dpa-infocom, dpa:231201-99-123456/3"
    r"(?:©\s*)?dpa-infocom\b.{0,80}|dpa:\d{6}-[\d-]+/\d+",
    # a separator line: AP's "___"; the end mark of Chinese wire copy, "（完）", and of press releases: "###",
    # "-30-", "-END-", "- ends -"
    r"_{2,}|-{3,}|={3,}|\*{3,}|[（(]\s*完\s*[）)]|#(?:\s*#){2,}|-+\s*(?:30|end|ends)\s*-+",
    # a reporter's address alone under the story: Yonhap's "kcs@yna.co.kr" (a labelled "Email: …" is part of
    # a press release's contact block, and stays with it)
    _MAIL_ADDRESS,
    # a credit's label with no name after it, the name left empty or gone with a widget: the podcast
    # plugin's "Erstellt von:" under every episode of CRE
    r"(?:created|written|posted|erstellt|geschrieben|verfasst|créé|écrit|rédigé|creado|escrito|creato|scritto|"
    r"criado|gemaakt|geschreven) (?:by|von|par|por|da|door)\s*:",
    # a post's filing, as blog themes print it under the text
    r"(?:tags|tagged(?: with| as| in)?|filed (?:under|in)|categor(?:y|ies)|posted in|schlagw(?:ö|oe)rter|"
    r"mots-cl(?:é|e)s|etiquetas)\s*:\s*.{1,200}",
    r"\[?(?:…|\.\.\.)\]?",
    # IDG/Foundry's "To read this article in full, please click here"
    r"(?:to )?read (?:this|the) (?:full )?(?:article|story|post)(?: in full)?,? (?:please )?"
    r"(?:click here|visit|go to|head (?:over )?to)\b.{0,120}",
    # share prompts
    rf"(?:share (?:this|on|via|the)\b.{{0,80}}|click to (?:share|email|print)\b.{{0,80}}|"
    rf"{_SHARE_WORDS}(?:[\s|·•,/:]+{_SHARE_WORDS})*)",
    r"(?:(?:follow|like) us on|folgen sie uns auf|suivez-nous sur|s[íi]guenos en|seguici su|siga-nos (?:no|em)|"
    r"volg ons op)\b.{0,120}",
    r"like this|like loading.{0,3}",  # WordPress' like button, copied into feeds as text
    _LEARN_MORE_LINK,
    r"follow .{1,40} on (?:google news|twitter|x|facebook|instagram|telegram|whatsapp|threads)\b.{0,80}",
    r"(?:download|get) (?:the|our) .{0,40}\bapps?\b.{0,80}",
    r"join (?:our|us on) (?:whatsapp|telegram)\b.{0,100}",
    r"subscribe to (?:our|my) (?:youtube|telegram|whatsapp) channel\b.{0,100}",
    r"sign up (?:here |now |today )?(?:to (?:get|receive) |for )(?:an? |our |free )?(?:e-?mails?|alerts?|"
    r"updates)\b.{0,150}",
    r"(?:subscribe|sign up|register)(?: (?:now|today|here|for free))?|leave a (?:comment|reply)",
    r"click here to (?:subscribe|sign up|register|download|listen|watch|join|follow)\b.{0,120}",
    r"already (?:a |an )?(?:subscriber|member)\s*\?.{0,80}",
    # a newsletter's sign-off: Substack's "Thanks for reading X! Subscribe for free to receive new posts…"
    r"(?:thanks|thank you) (?:so much )?for reading\b.{0,250}",
    r".{1,100} is a reader-supported publication\b.{0,250}",
    r"(?:like|enjoy(?:ed)?|love[d]?) (?:this|the) (?:article|story|post)\s*\?.{0,150}",
    r"listen to this (?:article|story)\b.{0,40}",
    # an <audio> or <video> player's fallback text, where a page printed it as a paragraph
    r"your browser does not support\b.{0,120}",
    # tip lines: "Send us a tip.", "Have a news tip? Email us at …"
    r"(?:send us (?:a|your) (?:news )?tips?\b|(?:have|got) a (?:news |story )?tip\s*\?).{0,150}",
    r"subscribe (?:now |today )?(?:for|to get) (?:unlimited|full|complete|digital) access\b.{0,100}",
    r"loading\s*(?:\.\.\.|…)?",
    # a dialog's button, its dialog gone with the scripts: Wirecutter's "Dismiss" under every post
    r"dismiss|skip ad",
    # the page's own notes, copied into the text with it
    r"please enable javascript\b.{0,150}|javascript is (?:disabled|required|not enabled)\b.{0,150}",
    r"(?:we use|this (?:web)?site uses|wir (?:verwenden|nutzen)|diese (?:web)?seite (?:verwendet|nutzt)|"
    r"nous utilisons des|ce site utilise des|(?:utilizamos|usamos)|este sitio (?:web )?utiliza|"
    r"(?:utilizziamo|questo sito utilizza)(?: i)?|(?:wij gebruiken|deze (?:web)?site gebruikt)) cookies?\b.{0,250}",
    # copyright footers: a symbol or a year right after the word, so "Copyright holders sued" stays
    r"©.{0,300}|\(c\)\s*\d{4}.{0,300}|copyright\s*(?:©|\(c\))?\s*(?:\d{4}|©).{0,300}",
    r"our standards:? the thomson reuters trust principles\.?(?:,? opens new tab)?",
    # Reuters' page furniture around its pictures and graphics: "Purchase Licensing Rights, opens new tab",
    # "Item 1 of 3", "Reuters Graphics"
    r"purchase licensing rights(?:,? opens new tab)?|item \d{1,2} of \d{1,2}|reuters graphics",
    # an outlet's note that the story came from the wires: "(With inputs from PTI)", "With agency inputs",
    # "(With PTI inputs)"; names only (capitalised), so "With inputs from the public, …" is story text
    rf"\(?\s*(?:[-–—]\s*)?(?:with\s+)?(?:(?:additional\s+)?inputs?\s+(?:from|by)|agency\s+inputs)"
    rf"(?:,?\s+(?:{_WIRE_NAME}))*\s*\)?|\(?\s*with\s+(?:{_WIRE_NAME})(?:\s+(?:{_WIRE_NAME}))*\s+inputs\s*\)?",
    # ad markers
    r"advertisement|advertising|sponsored(?: content)?|ad|scroll to continue(?: with content)?|"
    r"(?:story|article|content) continues(?: (?:below|after)\b.{0,40})?|anzeige|werbung|gesponsert|publicité|"
    r"sponsorisé|"
    r"publicidad|patrocinado|pubblicità|sponsorizzato|publicidade|advertentie|gesponsord",
    # support prompts
    r"(?:support (?:our|independent|local) journalism|become a (?:member|subscriber|supporter)|"
    r"donate (?:now|today|here|to us))\b.{0,200}",
    # an author's own ask ("If you'd like to support my efforts …, please consider … Ko-fi"); "support the
    # families" in a story is not first person, and stays
    r"if you(?:['’]d| would) like to support (?:my|our) (?:work|efforts?|writing|site|blog|newsletter)\b.{0,300}",
    # picture credits: "Image credits: top Google; second Brian Shih", "Photo courtesy of …" ("Photos by
    # amateurs flooded social media" is news, so "by" alone is not enough)
    r"(?:image|photo|picture|photograph)s?\s+(?:credits?:?|courtesy(?:\s+of)?)\s.{1,120}",
    # and a picture's credit alone: "Photo: Reuters", "Foto: NTB / Scanpix", "(Photo by A/AFP via Getty Images)"
    r"\(?(?:image|photo|picture|foto)\s*:\s*[^!?]{1,80}\)?|\((?:image|photo|picture|foto)s? by [^()]{1,100}\)",
    # link furniture with no story text: Reddit's footer, permalinks, a lone glyph linking to the post
    r"submitted by\s*(?:/?u/)?[\w\-]+(?:\s*to\s*/?(?:r/)?[\w\-]+)?|\[link\]\s*\[(?:\d+\s+)?comments?\]",
    r"(?:[∞¶#★]\s*)?permalink",
    # a lone glyph or two ("★", "∞", "—"); not code's brackets, semicolons and operators ("};" ends a class)
    r"[^\w\s()\[\]{};=<>/\\]{1,2}",
]
_NOTICE_RULES = [
    r"ad[\s-]?block(?:er|ing)? (?:detected|enabled|is on)\b.{0,200}",
    r"(?:sign up|subscribe|register)\b.{0,80}\bnewsletters?\b.{0,200}",
    r"(?:get|want) (?:our|the) .{0,60}newsletters?\b.{0,200}",
    r"newsletters?(?: sign[- ]?up)?",
    r"(?:get|have) .{0,60}\bdelivered (?:straight |directly |right )?to your inbox\b.{0,150}",
    r"want (?:more )?(?:stories|news|articles|content|more) like this\s*\?.{0,200}",
    r"(?:(?:jetzt )?(?:den |unseren )?newsletter abonnieren|abonnieren sie (?:den|unseren)\b.{0,60}newsletter|"
    r"(?:abonnez|inscrivez)-vous à (?:notre|la) (?:newsletter|lettre)|"
    r"suscr[íi]b(?:e|ete|ase) a (?:nuestro|nuestra|la|el) (?:newsletter|bolet[íi]n)|"
    r"iscriviti alla (?:nostra )?newsletter|(?:assine|inscreva-se (?:em|na)) (?:a )?(?:nossa )?newsletter|"
    r"(?:schrijf je in|meld je aan) voor (?:onze|de) nieuwsbrief)\b.{0,200}",
    r"(?:ad-?blocker|werbeblocker) (?:erkannt|aktiv)|bloqueur de publicités? (?:détecté|activé)|"
    r"bloqueador de (?:anuncios|anúncios) (?:detectado|activado|ativado)|adblock rilevato",
]
_HEADING_RULES = [
    r"related(?: (?:stories|articles|coverage|content|news|links|reading|posts))?|see also|also read|"
    r"read (?:more|also)|more (?:from|on|stories|news|coverage)\b.{0,60}|recommended(?: for you| reading| "
    r"stories)?|you (?:may|might) also (?:like|be interested in)|trending(?: now)?|most (?:read|popular)|"
    r"top stories|latest news|read next|suggested (?:topics|reading|articles|stories)|"
    # an outlet's pointer to its own pages: HuffPost's "Also on HuffPost:", "Previously On HuffPost:"
    r"(?:also|previously|elsewhere) on (?-i:[A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*){0,3})",
    # a members-only story's pointer to itself, its linked title under it: Medium's "This story is currently
    # available to Medium Members at the following link:", "This story is now unlocked and available to all
    # of our readers:"
    r"this (?:article|story|post) is (?:currently |now |only )?(?:available (?:only )?to (?:medium )?members"
    r"(?: only)?|unlocked and available to (?:all(?: of)? )?(?:our )?readers)(?: at the following link)?",
    r"mehr zum thema|lesen sie (?:auch|mehr)|das könnte sie auch interessieren|auch interessant|"
    r"verwandte (?:artikel|themen)|weitere (?:artikel|nachrichten|meldungen)|(?:à )?lire aussi|"
    r"sur le même sujet|dans la même rubrique|(?:à )?voir aussi|(?:también )?te puede interesar|"
    r"lee también|noticias relacionadas|leggi anche|potrebbe interessarti|articoli correlati|"
    r"(?:leia|veja) (?:também|mais)|notícias relacionadas|lees ook|meer over dit onderwerp|gerelateerde artikelen",
]
# Phrases that make a short paragraph boilerplate wherever they sit in it.
_NOTICE_PHRASES = [
    # second person only: "40% of users use an ad blocker" is news, "you appear to be using" is not
    r"\b(?:you(?:'re| are)?(?: (?:appear|seem) to be)? using|(?:disable|disabling|turn off|turning off|pause|"
    r"pausing|whitelist|whitelisting|allowlist) (?:your|the)) (?:an? )?ad[\s-]?block(?:er|ing)?\b",
    r"\bsie (?:verwenden|nutzen|haben) (?:offenbar |anscheinend |wohl )?(?:einen |eine )?(?:ad-?blocker|"
    r"werbeblocker)|\b(?:deaktivieren|pausieren) sie (?:bitte )?(?:ihren|den) (?:ad-?blocker|werbeblocker)",
    r"\bvous (?:utilisez|semblez utiliser) (?:un )?(?:bloqueur de publicités?|ad-?blocker)|"
    r"\bdésactivez votre (?:bloqueur|ad-?blocker)",
    r"\b(?:estás|está) (?:usando|utilizando) (?:un )?(?:bloqueador de (?:anuncios|publicidad)|ad-?blocker)|"
    r"\bdesactiva (?:tu|su) (?:bloqueador|ad-?blocker)",
    r"\b(?:stai|sta) (?:usando|utilizzando) (?:un )?(?:ad-?blocker|blocco (?:della )?pubblicità|"
    r"blocco annunci)|\bdisattiva (?:il tuo |l[’'] ?)ad-?blocker",
    r"\b(?:você está|está) (?:usando|a usar|utilizando) (?:um )?(?:bloqueador de (?:anúncios|publicidade)|"
    r"ad-?blocker)|\bdesative (?:o )?seu (?:bloqueador|ad-?blocker)",
]
# Phrases that make a short paragraph a footer or a note wherever they sit in it, one family each.
_RIGHTS_RESERVED = (
    r"\b(?:all rights reserved|alle rechte vorbehalten|tous droits réservés|todos los derechos reservados|"
    r"tutti i diritti riservati|todos os direitos reservados|alle rechten voorbehouden)\b|"
    # and in Chinese, Japanese and Korean, which have no word boundaries to match: Yonhap's "<저작권자(c)
    # 연합뉴스, 무단 전재-재배포 …>" ("no reproduction without permission")
    r"版权所有|版權所有|無断転載|무단\s*(?:전재|복제)"
)
_NO_REPRODUCTION = (
    r"\bmay not be (?:published|reproduced|copied)(?:,| or) (?:broadcast|distributed|redistributed|rewritten|"
    r"transmitted)\b"
)
# Medium's feed footer: "<Title> was originally published in <Publication> on Medium, where people ..."
_MEDIUM_FOOTER = (
    r"\bwas originally published (?:in .{1,200} )?on medium, where people are continuing the conversation\b"
)
_WIRE_NOTES = "|".join((
    # an outlet's disclaimer on wire copy it republishes unedited: "(Except for the headline, this story has
    # not been edited by NDTV staff and is published from a syndicated feed.)", "auto-generated from news
    # agency feeds", "published from a wire agency feed without modifications to the text"
    r"\b(?:auto-?generated|published|sourced|generated|taken|carried)\s+(?:from|via|through|by)\s+(?:an?\s+|the\s+)?"
    r"(?:automated\s+)?(?:syndicated|(?:news\s+|wire\s+)?agency|wire|auto-?)\s*feeds?\b|"
    r"\bhas not been edited by\b.{1,80}?\bstaff\b",
    # AP's note on a story a foundation pays for: "… receives financial support from … AP is solely
    # responsible for all content."
    r"\bap is solely responsible for all content\b",
    # Reuters' newsletter promotion: "… with our Morning Bid U.S. newsletter. Sign up here."
    r"\bnewsletters?\b[^.!?]{0,80}[.!?]\s*sign up here\b",
))
# a column's disclaimer: Reuters Breakingviews' "(The author is a Reuters Breakingviews columnist. The
# opinions expressed are her own.)", "The views expressed are the author's own."
_COLUMN_DISCLAIMER = (
    r"\bthe (?:opinions|views) expressed (?:here |in this (?:article|column|commentary|piece) )?are "
    r"(?:his|her|their|my|the author['’]s|(?:solely )?(?:those )?of the (?:author|writer)s?)\b"
)
# The notices podcast hosts add under every episode's notes, alone in their paragraph (one or several):
# Omny's, Megaphone's and Spotify's ad-choices line, Acast's, ART19's, Simplecast's (AdsWizz), RedCircle's.
_PODCAST_HOST_NOTICES = r"\A\s*(?:(?:" + "|".join((
    r"see omnystudio\.com/listener for privacy information",
    r"learn more about your ad[- ]?choices\.?\s*(?:visit|at)\s+(?:https?://)?(?:www\.)?"
    r"(?:megaphone\.fm|podcastchoices\.com|iheartpodcastnetwork\.com)(?:/adchoices)?/?",
    r"hosted on acast\.\s*see acast\.com/privacy for more information",
    r"see privacy policy at https?://art19\.com/privacy and california privacy notice at "
    r"https?://art19\.com/privacy#do-not-sell-my-info",
    r"hosted by simplecast, an adswizz company\.\s*see pcm\.adswizz\.com for information about our collection "
    r"and use of personal data for advertising",
    r"privacy (?:&|and) opt-out:\s*https?://redcircle\.com/privacy",
)) + r")\.?\s*)+\Z"
# The press-release wires' lines under a release: Business Wire's link to its own copy and its note on
# translations (in English and Chinese), PR Newswire's ("Cision View original content: …") and Newsfile's
# links to theirs.
_RELEASE_WIRE_FOOTERS = "|".join((
    r"\A\s*view source version on businesswire\.com:\s*\S+\s*\Z",
    r"\A\s*(?:cision\s+)?view original content(?: to download multimedia)?:\s*\S+\s*\Z",
    r"\A\s*to view the source version of this press release, please visit \S+\s*\Z",
    r"\btranslations are provided as an accommodation only\b",
    r"譯文僅供方便瞭解之用|译文仅供方便了解之用",
))
# A news picture's caption, which pages print as a paragraph of the story: it ends with the wire's credit,
# AP's "(AP Photo/Jane Doe)", Reuters' "REUTERS/Jane Doe/File Photo". Case-sensitive, as the wires write it.
_PICTURE_CAPTION = r"\(AP Photo(?:/[^()]{1,80})?\)\s*$|" \
    r"\bREUTERS/[A-Z][\w.'’\-]*(?: [A-Z][\w.'’\-]*){0,3}" \
    r"(?:/(?:File(?: Photo)?|Pool|Handout|Illustration)(?: Photo)?)*\.?\s*$"
#: What marks a footer the rules remove as saying where the story came from, so that the agency it names
#: can still be the story's: a copyright line, an outlet's "(With inputs from PTI)", dpa's "dpa:231201-…",
#: The Canadian Press' "This report by The Canadian Press was first published …".
CREDITING_FOOTER = re.compile(r"©|\(c\)|\bcopyright\b|\binputs?\b|\bdpa:\d|\bwas first published\b", re.IGNORECASE)
_SHORT_TAIL = (
    r"(?:(?:read more(?: here)?|continue reading|keep reading|read the (?:full|rest of the) (?:story|article|post)|"
    rf"{_READ_MORE_ABROAD})\s*(?:»|›|→|\.\.\.|…)?(?:\s*\([^()]{{1,40}}\))?|"
    r"\[\s*(?:…|\.\.\.|read more|continue reading)\s*\]|[（(]\s*完\s*[）)])"
)
_FOOTER_TAIL = rf"{_FIRST_ON}?\.?"
#: A "read more" link, an ellipsis marker or a feed footer glued to the end of a paragraph.
TRAILING_TAIL = re.compile(rf"\s*(?:{_SHORT_TAIL}|{_FOOTER_TAIL})\s*$", re.IGNORECASE | re.DOTALL)
# The same, one kind at a time: strip_tail searches only the end of a paragraph, and only for a kind
# whose words are there.
_SHORT_TAIL_END = re.compile(rf"\s*{_SHORT_TAIL}\s*$", re.IGNORECASE | re.DOTALL)
_FOOTER_TAIL_END = re.compile(rf"\s*{_FOOTER_TAIL}\s*$", re.IGNORECASE | re.DOTALL)
_TAIL_HINTS = ("more", "reading", "]", "story", "article", "lesen", "suite", "más", "leyendo", "leggere",
               "tutto", "mais", "lendo", "verder", "meer", "完")
_FOOTER_HINTS = ("appeared first on", "erschien zuerst", "apparu en premier", "primero en", "proviene da",
                 "il primo su", "apareceu primeiro", "verscheen eerst")


_FLAGS = re.IGNORECASE | re.DOTALL
# (kind, rule) in the order they are tried: headings first so that a lone "Read more:" takes the links
# under it along.
_RULES = [("heading", rule) for rule in _HEADING_RULES] + [("notice", rule) for rule in _NOTICE_RULES] \
    + [("single", rule) for rule in _SINGLE_RULES]
_RULE_END = r"\s*[:.!]?\s*"


def _whole(rules: Sequence[tuple[str, str]]) -> re.Pattern[str]:
    """One pass per paragraph over ``rules``: which kind of rule matched is the name of the group that did."""
    groups = (f"(?P<{kind}>" + "|".join(f"(?:{rule})" for _, rule in group) + ")"
              for kind, group in itertools.groupby(rules, key=lambda kind_rule: kind_rule[0]))
    return re.compile("(?:" + "|".join(groups) + f"){_RULE_END}", _FLAGS)


_WHOLE = _whole(_RULES)
# What each rule's match can begin with (None: anything). The engine tries every one of the ~110 rules on
# every paragraph, at a few microseconds a paragraph; most rules begin with a word, so a paragraph's first
# letter rules most of them out, and the few left are one short alternation (about a quarter the cost).
_RULE_STARTS = [first_character(f"(?:{rule}){_RULE_END}", _FLAGS) for _, rule in _RULES]


@functools.lru_cache(maxsize=16_384)  # every Latin first character, and the Chinese ones in common use (~2 MB)
def _whole_for(first: str) -> re.Pattern[str]:
    """``_WHOLE`` with only the rules a paragraph beginning with ``first`` can match, in the same order, so
    the same rule matches first. Working a character out costs ~17 µs, hence the cache; the characters
    share some 40 cuts of the rules, compiled once each (~10 ms)."""
    return _whole_of(tuple(i for i, start in enumerate(_RULE_STARTS) if start is None or start.fullmatch(first)))


@functools.lru_cache(maxsize=256)
def _whole_of(indexes: tuple[int, ...]) -> re.Pattern[str]:
    return _whole([_RULES[i] for i in indexes]) if indexes else _NOTHING  # letters share their few subsets


_NOTHING = re.compile(r"(?!)")
# (kind, hints, pattern): a regex search through a story paragraph costs microseconds, substring tests of
# the few words every phrase of the family contains cost well under one, so only hinted families search.
_PHRASES = [
    ("notice", ("block", "bloque", "blocco"), re.compile("|".join(_NOTICE_PHRASES), _FLAGS)),
    ("single", ("rights reserved", "rechte vorbehalten", "droits réservés", "derechos reservados",
                "diritti riservati", "direitos reservados", "rechten voorbehouden", "版权所有", "版權所有", "無断転載",
                "무단"),
     re.compile(_RIGHTS_RESERVED, _FLAGS)),
    ("single", ("may not be",), re.compile(_NO_REPRODUCTION, _FLAGS)),
    ("single", ("on medium, where people",), re.compile(_MEDIUM_FOOTER, _FLAGS)),
    # the wires' notes, in one family: each family costs every short paragraph its hint test
    ("single", ("feed", "not been edited", "solely responsible", "sign up here"),
     re.compile(_WIRE_NOTES, _FLAGS)),
    ("single", ("ap photo", "reuters/"), re.compile(_PICTURE_CAPTION)),
    ("single", ("expressed",), re.compile(_COLUMN_DISCLAIMER, _FLAGS)),
    # AP's pointers under its stories, ending in a link to its topic page or asking for tips: "AP’s coverage of
    # the 2024 election: https://apnews.com/hub/election-2024", "AP NFL: https://apnews.com/hub/nfl",
    # "Contact AP’s global investigative team at Investigative@ap.org or https://www.ap.org/tips/"
    ("single", ("apnews.com/hub", "ap.org/tips"),
     re.compile(r"https?://(?:www\.)?apnews\.com/hub/\S*\s*$|\bap\.org/tips\b", re.IGNORECASE)),
    # podcast hosts' and press-release wires' lines, in one family: all but two name the host's site
    ("single", (".com", ".fm", "accommodation only", "譯文僅供", "译文仅供"),
     re.compile(f"{_PODCAST_HOST_NOTICES}|{_RELEASE_WIRE_FOOTERS}", _FLAGS)),
]
_READER_ADDRESS = re.compile(
    r"\b(?:you|your|we|our|us|please|sie|ihr(?:e[nmrs]?)?|wir|uns|bitte|vous|votre|vos|nous|usted|tu|nosotros|"
    r"por favor|voi|noi|per favore|você|vocês|nós|seu|sua|uw|wij|ons)\b",
    re.IGNORECASE,
)
# What the later paragraphs of an ad-blocker or newsletter notice talk about.
_NOTICE_CONTINUATION = re.compile(
    r"ad[\s-]?block|advertis|whitelist|allowlist|paywall|free (?:website|service|content|access)|"
    r"support (?:our|us|independent)|subscri|donat|rely on|sign up|newsletter|inbox|e-?mail address|"
    r"privacy policy|terms of (?:use|service)|unsubscribe|werb|abonn|spende|unterstütz|publicit|bloqueur|"
    r"bloqueador|anuncio|anúncio|suscri|assin|pubblicit|sostien|nieuwsbrief|advertent",
    re.IGNORECASE,
)


# A sender's signature under copy sent by e-mail: their name, job and outlet on short lines, then how to reach
# them, one labelled line each ("Ph USA: +1 310 699 0500", "Twitter: @name", "Skype: name", "M: +44 …"). A
# label may name its line's country or desk ("Ph USA", "Tel (direct)") and no more, and a contact must follow
# it, so that a story's figures ("Tel Aviv: Likud 32%", "Mobile County: 35%") are no contact lines.
_PHONE_NUMBER = r"\+?\(?\d(?:[\s().-]{0,3}\d){6,14}"  # 7 to 15 digits, as the world's numbers run
# Up to a separator: "www.a.com, www.b.com" is two addresses.
_WEB_ADDRESS = r"(?:https?://|www\.)[^\s,|]+|(?:[\w-]+\.)+(?-i:[a-z]{2,})(?:/[^\s,|]*)?"
# Atomic: a "/" could end a web address or separate two contacts, and a line of slashed addresses with an end
# no contact matches ("Web: a.bc/a.bc/… !") made the engine try every split, its time doubling each one. So
# the first kind that matches is kept: an address before a number ("123456789@qq.com" is a mailbox).
_CONTACT = rf"(?>{_MAIL_ADDRESS}|{_PHONE_NUMBER}|@\w{{1,30}}|{_WEB_ADDRESS})"
MAX_CONTACT_LINE_CHARS = 200  # a line of a few contacts; a longer one is text
_CONTACT_LABEL = r"(?:ph|phone|tel|telephone|mob|mobile|cell|fax|direct|office|e-?mail|web|website|[tmepfw])"
# and an account's own label, which an account's bare name may follow: "Skype: ben.everill"
_ACCOUNT_LABEL = r"(?:twitter|x|skype|linkedin|instagram|facebook|whatsapp|signal|telegram|bluesky|threads)"
_LABEL_QUALIFIER = r"(?: \(?(?:(?-i:[A-Z]{2,3})|direct|office|work|mobile|cell|home|desk)\)?)?"
_CONTACT_LINE = re.compile(
    rf"(?:{_CONTACT_LABEL}{_LABEL_QUALIFIER}\s*:\s*{_CONTACT}(?:\s*(?:[/,|]|or)\s*{_CONTACT})*|"
    rf"{_ACCOUNT_LABEL}{_LABEL_QUALIFIER}\s*:\s*(?:{_CONTACT}|[\w.-]{{2,40}}))(?:\s*\([^()]{{1,20}}\))?",
    re.IGNORECASE,
)
# A line of a box of facts: "Where: Civic Center Plaza", "Text: 0477 13 11 14".
_LABELLED_LINE = re.compile(r"[^:\s][^:]{0,30}:\s+\S")
_LEARN_MORE = re.compile(_LEARN_MORE_LINK, re.IGNORECASE)
COMPANY_BOX_PARAGRAPHS = 24  # a few companies' profiles
_SIGNATURE_NAME = re.compile(r"[A-ZÀ-ÖØ-Þ][\w'’.-]+(?: [A-ZÀ-ÖØ-Þ][\w'’.-]+){1,3}")
MIN_CONTACT_LINES = 2
SIGNATURE_HEADER_LINES = 4  # name, job, outlet, desk
SIGNATURE_HEADER_CHARS = 60
# AP's line on how to reach its reporter: "Bernard Condon can be reached at http://twitter.com/BernardFCondon .
# His work can be found at …". A person's name, two or three capitalised words, none an article, an
# organisation's word or a rank: "The Red Cross can be reached at info@redcross.org", "Crime Stoppers can be
# reached at …" and "Detective Jane Doe can be reached at …" are the story's. A link, an address or a handle
# follows it: "The mayor can be reached at city hall" is the story's too.
_NOT_A_NAME = (
    r"(?:The|A|An|Our|Your|Army|Cross|Stoppers|Office|Department|Police|Services?|Agency|Council|Cent(?:re|er)|"
    r"Foundation|Society|Association|Institute|University|College|School|Hospital|Company|Group|Bank|Club|Church|"
    r"Fund|Committee|Commission|Ministry|Bureau|Authority|Board|Network|Helpline|Hotline|Line|Desk|Team|Inc|Ltd|"
    r"Corp|News|Press|Media|Union|Party|Detective|Officer|Sergeant|Constable|Inspector|Captain|Chief)\b"
)
_NAME_WORD = rf"(?!{_NOT_A_NAME})[A-Z][\w'’.-]+"
_REPORTER_LINE = re.compile(
    rf"{_NAME_WORD}(?: {_NAME_WORD}){{1,2}} can be reached (?:at|on|via) (?i:https?://|@|[\w.+-]+@|"
    r"(?:www\.)?(?:twitter|x)\.com/)\S+.{0,200}",
    re.DOTALL,
)
REPORTER_LINE_PARAGRAPHS = 2  # AP's line ends its story, or comes above a contributor's credit


def signature_block(paragraphs: Sequence[str]) -> list[int]:
    """Indexes of a sender's signature ending the text: a person's name and up to three more short lines
    (job, outlet), then two contact lines or more. A press release's contacts stay: they are part of its news,
    and a line introduces them ("Media contact:", "… for more information on:"); so do those ending a box of
    labelled facts ("If You Go", "What: …", "Where: …", then a phone and an address)."""
    end = len(paragraphs)
    start = end
    while start and len(paragraphs[start - 1]) <= MAX_CONTACT_LINE_CHARS and _CONTACT_LINE.fullmatch(
            paragraphs[start - 1]):
        start -= 1
    if end - start < MIN_CONTACT_LINES:
        return []
    names = []
    for top in range(start - 1, max(start - 1 - SIGNATURE_HEADER_LINES, -1), -1):
        line = paragraphs[top]
        if line.endswith(":") or _LABELLED_LINE.match(line):
            return []  # contacts a line introduces, or the last lines of a box of labelled facts
        if len(line) > SIGNATURE_HEADER_CHARS or line.endswith((".", "!", "?")):
            break
        if _SIGNATURE_NAME.fullmatch(line):
            names.append(top)
    # the name heads the signature: "Ben Everill" above "Golf Writer"
    return list(range(names[-1], end)) if names else []


def reporter_line(paragraphs: Sequence[str]) -> list[int]:
    """Indexes of AP's line on how to reach its reporter among the text's last paragraphs, where AP puts it."""
    start = max(0, len(paragraphs) - REPORTER_LINE_PARAGRAPHS)
    return [i for i in range(start, len(paragraphs)) if _REPORTER_LINE.fullmatch(paragraphs[i].strip())]


def rule_matches(
    paragraphs: Sequence[str], link_density: Callable[[int], float] | None = None, *, mailed: bool = False,
) -> set[int]:
    """Indexes of the paragraphs the rules call boilerplate. ``mailed``: the text came by e-mail, so a
    sender's signature may end it; elsewhere a name over contact lines is the story's (a restaurant's or a
    helpline's box)."""
    density = link_density or (lambda _index: 0.0)
    families = _hinted_phrases(paragraphs)
    matched: set[int] = set()
    index = 0
    while index < len(paragraphs):
        kind = _rule_kind(paragraphs[index], families)
        if kind == "notice":
            run = _followers(paragraphs, index, NOTICE_FOLLOWERS, _is_notice_continuation)
        elif kind == "heading":
            run = _followers(paragraphs, index, RELATED_FOLLOWERS,
                             lambda i, _p: density(i) >= RELATED_LINK_DENSITY)
        else:
            run = [index] if kind else []
        matched.update(run)
        index = (run[-1] if run else index) + 1
    # The rules for how a text ends read it without what the rules above removed: a mail's confidentiality
    # footer under the signature, AP's "___" and copyright line under its reporter's line, would hide the end.
    left = [i for i in range(len(paragraphs)) if i not in matched]
    ending = [paragraphs[i] for i in left]
    closing = reporter_line(ending) + (signature_block(ending) if mailed else [])
    matched.update(left[i] for i in closing)
    matched.update(company_box(paragraphs))
    return matched


def company_box(paragraphs: Sequence[str]) -> range:
    """TechCrunch's company profiles ending a post: "Crunchbase", each company's name, "Company: …",
    "Website: …", "Funding: …", its blurb and a "Learn more" link, to the end of the text. Only a whole box
    goes: a story that mentions Crunchbase on a line of its own, with no profile's link ending it, stays."""
    end = len(paragraphs)
    if not end or _LEARN_MORE.fullmatch(paragraphs[-1]) is None:
        return range(0)
    for start in range(end - 2, max(end - 2 - COMPANY_BOX_PARAGRAPHS, -1), -1):
        if paragraphs[start].strip().casefold() == "crunchbase":
            return range(start, end)
    return range(0)


def rule_kind(paragraph: str) -> str | None:
    """"notice", "heading" or "single" when a rule calls ``paragraph`` boilerplate on its own, else None."""
    return _rule_kind(paragraph, _PHRASES)


def _hinted_phrases(paragraphs: Sequence[str]) -> list[tuple[str, tuple[str, ...], re.Pattern[str]]]:
    """The phrase families whose hints the item's short paragraphs contain somewhere (most items: none).
    Thirty substring tests of the whole text cost a few microseconds, thirty of every paragraph a few
    each. Joined by a line break, which no hint holds and which ends a word as the end of a text does
    (so a final sigma lowers alike), the paragraphs lower as they do one by one."""
    text = "\n".join(paragraph for paragraph in paragraphs if len(paragraph) <= RULE_MAX_CHARS).lower()
    return [family for family in _PHRASES if any(hint in text for hint in family[1])]


def _rule_kind(paragraph: str, families: Sequence[tuple[str, tuple[str, ...], re.Pattern[str]]]) -> str | None:
    """``rule_kind`` with the phrase families that may apply: a family whose hints are in none of the
    item's paragraphs is in none of them."""
    if len(paragraph) > RULE_MAX_CHARS:
        return None
    match = _whole_for(paragraph[0]).fullmatch(paragraph) if paragraph else _WHOLE.fullmatch(paragraph)
    if match is not None:
        return match.lastgroup
    if not families:
        return None
    lowered = paragraph.lower()
    for kind, hints, pattern in families:
        for hint in hints:  # a loop, not any(): a generator per family cost more than the tests
            if hint in lowered:
                if pattern.search(paragraph):
                    return kind
                break
    return None


def strip_tail(paragraph: str) -> str:
    """``paragraph`` without a trailing "Read more" or "[…]"; "" when nothing else is left."""
    while tail := _tail(paragraph):
        paragraph = paragraph[:tail.start()].rstrip()  # one tail per pass: "Read more Read more" takes two
    return paragraph


def _tail(paragraph: str) -> re.Match[str] | None:
    # Tails are end-anchored and shorter than the searched ends, so no earlier start can match.
    # A footer's words sit within its last ~215 characters (".{1,200}" of site name, then a full stop).
    footer = paragraph[-250:].lower()
    end = footer[-80:]
    if any(hint in end for hint in _TAIL_HINTS):
        tail = _SHORT_TAIL_END.search(paragraph, max(0, len(paragraph) - 120))
        if tail:
            return tail
    if any(hint in footer for hint in _FOOTER_HINTS):
        return _FOOTER_TAIL_END.search(paragraph, max(0, len(paragraph) - 800))
    return None


def _is_notice_continuation(_index: int, paragraph: str) -> bool:
    # A notice talks to the reader about ads or subscriptions; a story paragraph that mentions
    # subscribers after a mid-story newsletter prompt does not address anyone, and stays. The reader is
    # looked for first: that search costs a third of the topics' or less (~20-35 against ~90-110 µs on 400
    # characters of story text).
    return (len(paragraph) <= RULE_MAX_CHARS and _READER_ADDRESS.search(paragraph) is not None
            and _NOTICE_CONTINUATION.search(paragraph) is not None)


def _followers(
    paragraphs: Sequence[str], start: int, limit: int, belongs: Callable[[int, str], bool],
) -> list[int]:
    run = [start]
    for index in range(start + 1, min(start + 1 + limit, len(paragraphs))):
        if not belongs(index, paragraphs[index]):
            break
        run.append(index)
    return run


_WORDS = re.compile(r"\w+")

#: What the learned model may hold for all sources together: paragraph counts and item keys (~170 bytes
#: each in memory, so ~170 MB). Sources share it: each may hold up to ``max_paragraphs`` and ``max_keys``
#: while there are few of them, less as they grow in number, but never less than the floors below.
MAX_ENTRIES = 1_000_000
MIN_PARAGRAPHS_PER_SOURCE = 100
MIN_KEYS_PER_SOURCE = 50


def paragraph_key(paragraph: str) -> int | None:
    """A stable key of a paragraph's words (case, punctuation and spacing ignored); None when no words.
    An int (64 bits of a hash) takes half the memory of its hex string, which is how states are saved."""
    words = _WORDS.findall(paragraph.casefold())
    if not words:
        return None
    return int.from_bytes(hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest(), "big")


class BoilerplateModel:
    """Per source (feed id), the paragraphs that recur in at least ``min_items`` distinct items.

    Memory is bounded as a whole: ``max_entries`` counts and keys for all sources together, shared among
    them (see :data:`MAX_ENTRIES`), and at most ``max_sources`` sources, least recently seen first out.
    Within a source, paragraph counts and recent item keys are least-recently-used first out: the LRU is
    the "window", and a paragraph that stops recurring is pushed out by newer ones. A paragraph that
    :meth:`is_boilerplate` confirms is refreshed, so learned boilerplate stays learned while the source
    keeps printing it even when the service only observes the paragraphs that survived cleaning.

    Count *stories*, not copies: pass ``item_key`` (best, the dedup story id) so that redelivered items
    and successive versions of one story, which repeat most paragraphs, are counted once.
    """

    FORMAT = 1

    def __init__(self, *, min_items: int = 5, max_paragraphs: int = 2000, max_keys: int = 500,
                 max_sources: int = 10_000, max_chars: int = 1000, max_entries: int = MAX_ENTRIES) -> None:
        if min_items < 2:
            raise ValueError("min_items must be at least 2: one item alone cannot show repetition")
        self.min_items = min_items
        self.max_paragraphs = max_paragraphs
        self.max_keys = max_keys
        self.max_sources = max_sources
        self.max_chars = max_chars  # longer paragraphs are story text and never learned
        self.max_entries = max_entries
        self._sources: OrderedDict[str, _SourceCounts] = OrderedDict()
        self._entries = 0  # paragraph counts and item keys held, all sources together

    @property
    def entries(self) -> int:
        return self._entries

    def observe(self, feed_id: str, paragraphs: Iterable[str], *, item_key: str | None = None) -> None:
        """Count one item's paragraphs (each distinct paragraph once per item)."""
        source = self._source(feed_id)
        max_paragraphs, max_keys = self._caps()
        before = source.size()
        if item_key is None or source.first_sight(item_key, max_keys):
            keys = {key for p in paragraphs if len(p) <= self.max_chars and (key := paragraph_key(p)) is not None}
            for key in keys:
                source.count(key, max_paragraphs)
        self._grew(source.size() - before)

    def is_boilerplate(self, feed_id: str, paragraph: str) -> bool:
        source = self._sources.get(feed_id)
        if source is None or len(paragraph) > self.max_chars:
            return False
        key = paragraph_key(paragraph)
        return key is not None and source.confirm(key, self.min_items)

    def sources(self) -> list[str]:
        return list(self._sources)

    def learn_from(self, other: BoilerplateModel, feed_id: str) -> None:
        """Take what ``other`` has seen a source repeat in at least ``min_items`` items (its counts)."""
        counted = other._sources.get(feed_id)
        if counted is None:
            return
        source = self._source(feed_id)
        max_paragraphs, _ = self._caps()
        before = source.size()
        for key, n in counted.counts.items():
            if n >= self.min_items:
                source.raise_to(key, n, max_paragraphs)
        self._grew(source.size() - before)

    def items_seen(self, feed_id: str) -> int:
        """Distinct items observed of a source (up to its share of item keys)."""
        source = self._sources.get(feed_id)
        return len(source.keys) if source else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state, least recently used first so that :meth:`from_dict` rebuilds the same LRU."""
        return {
            "format": self.FORMAT,
            "min_items": self.min_items,
            "max_paragraphs": self.max_paragraphs,
            "max_keys": self.max_keys,
            "max_sources": self.max_sources,
            "max_chars": self.max_chars,
            "max_entries": self.max_entries,
            "sources": {feed: source.to_dict() for feed, source in self._sources.items()},
        }

    def source_state(self, feed_id: str) -> dict[str, Any] | None:
        """One source's part of :meth:`to_dict` (what a save of the sources seen since the last writes)."""
        source = self._sources.get(feed_id)
        return source.to_dict() if source else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BoilerplateModel:
        """The model of a state; one saved with a larger share per source is cut down to today's."""
        if data.get("format") != cls.FORMAT:
            raise ValueError(f"unknown boilerplate model format {data.get('format')!r}")
        model = cls(min_items=int(data["min_items"]), max_paragraphs=int(data["max_paragraphs"]),
                    max_keys=int(data["max_keys"]), max_sources=int(data["max_sources"]),
                    max_chars=int(data["max_chars"]), max_entries=int(data.get("max_entries", MAX_ENTRIES)))
        for feed_id, state in list(data["sources"].items())[-model.max_sources:]:
            source = model._sources[str(feed_id)] = _SourceCounts.from_dict(state)
            model._entries += source.size()
        model._trim(everything=True)
        return model

    def _caps(self) -> tuple[int, int]:
        """What one source may hold now: (paragraph counts, item keys), its share of ``max_entries``."""
        share = self.max_entries // max(len(self._sources), 1)
        return (min(self.max_paragraphs, max(MIN_PARAGRAPHS_PER_SOURCE, share * 4 // 5)),
                min(self.max_keys, max(MIN_KEYS_PER_SOURCE, share // 5)))

    def _bound(self) -> int:
        """The most the model may hold: ``max_entries``, or every source's floors where they come to more."""
        return max(self.max_entries, len(self._sources) * (MIN_PARAGRAPHS_PER_SOURCE + MIN_KEYS_PER_SOURCE))

    def _grew(self, added: int) -> None:
        self._entries += added
        if self._entries > self._bound():
            self._trim()

    def _trim(self, *, everything: bool = False) -> None:
        """Cut sources down to today's share, least recently seen first, until the whole is within bounds
        (``everything``: every source, as after loading a state saved under other bounds)."""
        max_paragraphs, max_keys = self._caps()
        for source in self._sources.values():
            self._entries -= source.shrink(max_paragraphs, max_keys)
            if not everything and self._entries <= self._bound():
                return

    def _source(self, feed_id: str) -> _SourceCounts:
        source = self._sources.get(feed_id)
        if source is None:
            source = self._sources[feed_id] = _SourceCounts()
            if len(self._sources) > self.max_sources:
                _, forgotten = self._sources.popitem(last=False)
                self._entries -= forgotten.size()
        else:
            self._sources.move_to_end(feed_id)
        return source


class _SourceCounts:
    __slots__ = ("counts", "keys")

    def __init__(self) -> None:
        self.counts: OrderedDict[int, int] = OrderedDict()
        self.keys: OrderedDict[str, None] = OrderedDict()

    def size(self) -> int:
        return len(self.counts) + len(self.keys)

    def first_sight(self, item_key: str, limit: int) -> bool:
        if item_key in self.keys:
            self.keys.move_to_end(item_key)
            return False
        self.keys[item_key] = None
        while len(self.keys) > limit:
            self.keys.popitem(last=False)
        return True

    def count(self, key: int, limit: int) -> None:
        self.raise_to(key, self.counts.get(key, 0) + 1, limit)

    def raise_to(self, key: int, n: int, limit: int) -> None:
        self.counts[key] = max(n, self.counts.get(key, 0))
        self.counts.move_to_end(key)
        while len(self.counts) > limit:
            self.counts.popitem(last=False)

    def confirm(self, key: int, min_items: int) -> bool:
        if self.counts.get(key, 0) < min_items:
            return False
        self.counts.move_to_end(key)
        return True

    def shrink(self, max_paragraphs: int, max_keys: int) -> int:
        """Forget the least recently used counts and keys beyond the limits; how many were forgotten."""
        before = self.size()
        while len(self.counts) > max_paragraphs:
            self.counts.popitem(last=False)
        while len(self.keys) > max_keys:
            self.keys.popitem(last=False)
        return before - self.size()

    def to_dict(self) -> dict[str, Any]:
        return {"counts": [[f"{key:016x}", n] for key, n in self.counts.items()], "keys": list(self.keys)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _SourceCounts:
        source = cls()
        source.counts.update((int(str(key), 16), int(n)) for key, n in data.get("counts", []))
        source.keys.update((str(key), None) for key in data.get("keys", []))
        return source
