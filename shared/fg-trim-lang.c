/*
 * NAME
 *	fg-trim-lang 3 - the words mail clients write around a quote
 * DESCRIPTION
 *	See fg-trim-lang.h. The forms, by client, as they write them in
 *	text/plain (NAME, ADDR, DATE stand for what varies):
 *
 *	Gmail: "On DATE NAME <ADDR> wrote:", "Am DATE schrieb NAME
 *	<ADDR>:", "Le DATE, NAME <ADDR> a écrit :", "El DATE, NAME
 *	(<ADDR>) escribió:", "Op DATE schreef NAME <ADDR>:", "Il giorno
 *	DATE NAME <ADDR> ha scritto:", "Em DATE, NAME <ADDR> escreveu:",
 *	"Den DATE skrev NAME <ADDR>:", "DATE NAME <ADDR> napisał(a):",
 *	"DATE NAME <ADDR> пише:", "DATE, NAME <ADDR>:" (Russian, no
 *	verb), "DATE NAME <ADDR>:" (Japanese, and the older ISO form
 *	"2016-10-24 15:36 GMT+02:00 NAME <ADDR>:"), "NAME <ADDR>
 *	于DATE写道："; all wrapped near 78 columns. Apple Mail: "On
 *	DATE, at TIME, NAME <ADDR> wrote:", "Op DATE heeft NAME <ADDR>
 *	het volgende geschreven:", "Wiadomość napisana przez NAME w
 *	dniu DATE:", "DATE NAME <ADDR>のメール:", "在 DATE，NAME <ADDR>
 *	写道：", "Begin forwarded message:" (and its translations).
 *	Outlook 2019: "On DATE, "NAME" <ADDR> wrote:", "Op DATE heeft
 *	NAME <ADDR> geschreven:", "NAME <ADDR> kirjoitti DATE:", "Dnia
 *	DATE „NAME” <ADDR> napisał:". Thunderbird and K-9: "On
 *	DATE, NAME wrote:", "Am DATE schrieb NAME:", "W dniu DATE, NAME
 *	pisze:", "DATE, NAME пишет:", "-------- Forwarded Message
 *	--------". Outlook: "-----Original Message-----" and the header
 *	block "From: / Sent: / To: / Subject:" in the language of the
 *	client. Zoho: "---- On DATE NAME <ADDR> wrote ----".
 */
#include "fg-trim-lang.h"

#include <stddef.h>

/* Entries with a start come before the catch-alls without one. */
const struct fg_trim_attribution fg_trim_attributions[] = {
	{ "On ", NULL, "wrote:" },
	{ "Am ", " schrieb ", ":" },
	{ "Le ", " a écrit", ":" },
	{ "El ", " escribió", ":" },
	{ "Op ", " schreef ", ":" },
	{ "Op ", " geschreven", ":" },	/* Apple, Outlook: "heeft NAME" */
	{ "Il ", " ha scritto", ":" },
	{ "Em ", " escreveu", ":" },
	{ "Den ", " skrev", ":" },
	{ "W dniu ", " pisze", ":" },
	{ "W dniu ", " napisa", ":" },
	{ "Wiadomość napisana przez ", NULL, ":" },
	{ "Dne ", " napsal", ":" },
	{ "", NULL, " wrote:" },
	/* languages that may start with the date or the name */
	{ "", " schrieb", ":" },
	{ "", " hat am ", ":" },		/* "NAME hat am DATE geschrieben:" */
	{ "", " a écrit", ":" },
	{ "", " escribió", ":" },
	{ "", " schreef", ":" },
	{ "", " ha scritto", ":" },
	{ "", " escreveu", ":" },
	{ "", " skrev", ":" },
	{ "", " kirjoitti", ":" },
	{ "", " ezt írta", ":" },
	{ "", " napsal", ":" },
	{ "", " napisał", ":" },
	{ "", " pisze", ":" },
	{ "", " написа", ":" },		/* написал(а), написав */
	{ "", " пишет", ":" },
	{ "", " пише", ":" },
	{ "", "写道", "：" },
	{ "", "写道", ":" },
	{ "", "寫道", "：" },
	{ "", "寫道", ":" },
	{ "", "のメッセージ", ":" },
	{ "", "のメッセージ", "：" },
	{ "", "のメール", ":" },
	{ "", "のメール", "：" },
	{ "", "書きました", ":" },
	{ "", "書きました", "：" },
	{ NULL, NULL, NULL },
};

/* Original, then forwarded message. */
const char *const fg_trim_separators[] = {
	"Original Message", "Original", "Ursprüngliche Nachricht",
	"Originalnachricht", "Message d'origine", "Message original",
	"Mensaje original", "Mensagem original", "Oorspronkelijk bericht",
	"Origineel bericht", "Messaggio originale", "Originalmeddelande",
	"Ursprungligt meddelande", "Oprindelig meddelelse",
	"Opprinnelig melding", "Alkuperäinen viesti", "Wiadomość oryginalna",
	"Oryginalna wiadomość", "Původní zpráva", "Исходное сообщение",
	"Оригинальное сообщение", "Оригінальне повідомлення",
	"Вихідне повідомлення", "元のメッセージ", "原始邮件", "原始郵件",
	"Forwarded message", "Forwarded Message", "Forwarded e-mail",
	"Weitergeleitete Nachricht", "Message transféré",
	"Mensaje reenviado", "Mensagem encaminhada", "Doorgestuurd bericht",
	"Messaggio inoltrato", "Wiadomość przekazana dalej",
	"Przekazana wiadomość", "Пересылаемое сообщение",
	"Пересланное сообщение", "Переслане повідомлення",
	"Пересланий лист", "Перенаправленное сообщение",
	"Перенаправлене повідомлення", "Vidarebefordrat meddelande",
	"Videresendt meddelelse", "Videresendt melding", "Message transmis",
	"Mensagem reencaminhada", "Treść przekazanej wiadomości",
	"Wiadomość przesłana dalej", "Přeposlaná zpráva",
	"Edelleenlähetetty viesti", "Välitetty viesti / Fwd.Msg",
	"転送されたメッセージ", "メッセージを転送", "转发的邮件", "转发的消息",
	"轉寄的郵件", "轉寄郵件",
	NULL,
};

/* Apple Mail's, followed by ':' (or '：'). */
const char *const fg_trim_forward_intros[] = {
	"Begin forwarded message", "Anfang der weitergeleiteten Nachricht",
	"Début du message réexpédié", "Début du message transféré",
	"Inicio del mensaje reenviado", "Início da mensagem reencaminhada",
	"Início da mensagem encaminhada", "Begin doorgestuurd bericht",
	"Inizio messaggio inoltrato", "Początek przekazywanej wiadomości",
	"Начало переадресованного сообщения",
	"Початок листа, що пересилається", "Vidarebefordrat mejl",
	"Start på videresendt besked", "Videresendt melding",
	"Välitetty viesti alkaa", "Začátek přeposílané zprávy",
	NULL,
};

/* A longer word before a shorter one that starts it ("Enviado el"
   before "Enviado"). */
const struct fg_trim_hdr_label fg_trim_hdr_labels[] = {
	{ "From", FG_HDR_FROM }, { "Von", FG_HDR_FROM }, { "De", FG_HDR_FROM },
	{ "Van", FG_HDR_FROM }, { "Da", FG_HDR_FROM }, { "Från", FG_HDR_FROM },
	{ "Fra", FG_HDR_FROM }, { "Od", FG_HDR_FROM }, { "От", FG_HDR_FROM },
	{ "Від кого", FG_HDR_FROM }, { "Від", FG_HDR_FROM },
	{ "Отправитель", FG_HDR_FROM }, { "Mittente", FG_HDR_FROM },
	{ "Nadawca", FG_HDR_FROM }, { "Lähettäjä", FG_HDR_FROM },
	{ "差出人", FG_HDR_FROM },
	{ "发件人", FG_HDR_FROM }, { "寄件者", FG_HDR_FROM },
	{ "Sent", FG_HDR_SENT }, { "Date", FG_HDR_DATE },
	{ "Gesendet", FG_HDR_SENT }, { "Datum", FG_HDR_DATE },
	{ "Envoyé", FG_HDR_SENT }, { "Enviado el", FG_HDR_SENT },
	{ "Enviado", FG_HDR_SENT }, { "Enviada", FG_HDR_SENT },
	{ "Fecha", FG_HDR_DATE }, { "Verzonden", FG_HDR_SENT },
	{ "Inviato", FG_HDR_SENT }, { "Data", FG_HDR_DATE },
	{ "Skickat", FG_HDR_SENT }, { "Sendt", FG_HDR_SENT },
	{ "Wysłano", FG_HDR_SENT }, { "Отправлено", FG_HDR_SENT },
	{ "Надіслано", FG_HDR_SENT }, { "送信日時", FG_HDR_SENT },
	{ "发送时间", FG_HDR_SENT }, { "寄件日期", FG_HDR_SENT },
	{ "日期", FG_HDR_DATE }, { "Dato", FG_HDR_DATE },
	{ "Дата", FG_HDR_DATE }, { "Päivämäärä", FG_HDR_DATE },
	{ "Відправлено", FG_HDR_SENT }, { "Lähetetty", FG_HDR_SENT },
	{ "To", FG_HDR_TO }, { "An", FG_HDR_TO }, { "À", FG_HDR_TO },
	{ "A", FG_HDR_TO }, { "Para", FG_HDR_TO }, { "Aan", FG_HDR_TO },
	{ "Till", FG_HDR_TO }, { "Til", FG_HDR_TO }, { "Do", FG_HDR_TO },
	{ "Кому", FG_HDR_TO }, { "宛先", FG_HDR_TO }, { "收件人", FG_HDR_TO },
	{ "收件者", FG_HDR_TO }, { "Pour", FG_HDR_TO },
	{ "Adresat", FG_HDR_TO }, { "Vastaanottaja", FG_HDR_TO },
	{ "Komu", FG_HDR_TO },
	{ "Subject", FG_HDR_SUBJECT }, { "Betreff", FG_HDR_SUBJECT },
	{ "Objet", FG_HDR_SUBJECT }, { "Asunto", FG_HDR_SUBJECT },
	{ "Assunto", FG_HDR_SUBJECT }, { "Onderwerp", FG_HDR_SUBJECT },
	{ "Oggetto", FG_HDR_SUBJECT }, { "Ämne", FG_HDR_SUBJECT },
	{ "Emne", FG_HDR_SUBJECT }, { "Temat", FG_HDR_SUBJECT },
	{ "Тема", FG_HDR_SUBJECT }, { "件名", FG_HDR_SUBJECT },
	{ "主题", FG_HDR_SUBJECT }, { "主旨", FG_HDR_SUBJECT },
	{ "Sujet", FG_HDR_SUBJECT }, { "Aihe", FG_HDR_SUBJECT },
	{ "Předmět", FG_HDR_SUBJECT },
	{ "Received", FG_HDR_RAW }, { "Return-Path", FG_HDR_RAW },
	{ "Message-ID", FG_HDR_RAW }, { "MIME-Version", FG_HDR_RAW },
	{ "Content-Type", FG_HDR_RAW }, { "Delivered-To", FG_HDR_RAW },
	{ "DKIM-Signature", FG_HDR_RAW }, { "X-", FG_HDR_RAW },
	{ "Authentication-Results", FG_HDR_RAW }, { "References", FG_HDR_RAW },
	{ "In-Reply-To", FG_HDR_RAW },
	{ NULL, FG_HDR_NONE },
};

const char *const fg_trim_mobile_prefixes[] = {
	"Sent from my ", "Sent from Mail for ", "Sent from Outlook",
	"Sent from Yahoo Mail", "Sent from Samsung", "Sent from BlueMail",
	"Sent from ProtonMail", "Sent from Proton Mail", "Sent with ",
	"Sent via ", "Sent using ", "Get Outlook for ",
	"Von meinem ", "Gesendet von meinem ", "Gesendet mit ",
	"Gesendet von ", "Holen Sie sich Outlook für ",
	"Envoyé de mon ", "Envoyé depuis mon ", "Envoyé à partir de ",
	"Obtenir Outlook pour ",
	"Enviado desde mi ", "Enviado de mi ", "Obtener Outlook para ",
	"Enviado do meu ", "Enviado de meu ", "Enviado do ",
	"Obter o Outlook para ",
	"Verzonden vanaf mijn ", "Verstuurd vanaf mijn ", "Verzonden met ",
	"Verstuurd met ",
	"Inviato da ", "Inviato dal ", "Scarica Outlook per ",
	"Skickat från min ", "Skickat från ", "Sendt fra min ", "Sendt fra ",
	"Lähetetty ", "Wysłane z ", "Odesláno z ",
	"Отправлено с ", "Отправлено из ", "Надіслано з ",
	"发自我的", "從我的",
	NULL,
};

const char *const fg_trim_mobile_suffixes[] = {
	"から送信", "から送信しました",
	NULL,
};
