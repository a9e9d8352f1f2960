/*
 * NAME
 *	check_attach - fg-attach: which parts are attachments, their
 *	names, the never-posted files, the limits, and base64
 */
#include "fg-attach.h"
#include "fg-common.h"
#include "fg-mailparse.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char mixed[] =
	"From: Alice <alice@example.org>\r\n"
	"Subject: logs\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type:\r\n multipart/mixed; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: multipart/alternative; boundary=\"b2\"\r\n"
	"\r\n"
	"--b2\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n"
	"--b2\r\n"
	"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hello.</p>\r\n"
	"--b2--\r\n"
	"--b1\r\n"
	"Content-Type: image/png\r\n"
	"Content-Disposition: attachment; filename*=UTF-8''gr%C3%BC%C3%9Fe.png\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"iVBORw0KGgo=\r\n"
	"--b1\r\n"
	"Content-Type: application/octet-stream;\r\n"
	" name=\"=?ISO-8859-1?Q?r=E9sum=E9?= ../../etc/x.bin\"\r\n"
	"Content-Disposition: attachment\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"AAECAw==\r\n"
	"--b1\r\n"
	"Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\r\nxx\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; name=\"notes.txt\"\r\n"
	"Content-Disposition: inline; filename=\"notes.txt\"\r\n\r\n"
	"some notes\r\n"
	"--b1\r\n"
	"Content-Type: application/pdf\r\n"
	"Content-Disposition: attachment\r\n\r\n%PDF-1.4\r\n"
	"--b1--\r\n";

START_TEST(test_extract)
{
	struct fg_attach_settings set = {
		.max_size = 1024, .max_total = 4096,
		.types = "image/* text/plain",
	};
	struct fg_attachment *a;
	size_t n;
	const char *error;

	ck_assert_int_eq(fg_attach_extract(mixed, strlen(mixed), &set, &a, &n,
					   &error), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(a[0].name, "gr\xc3\xbc\xc3\x9f" "e.png");
	ck_assert_str_eq(a[0].type, "image/png");
	ck_assert_uint_eq(a[0].size, 8);
	ck_assert_ptr_nonnull(a[0].data);
	ck_assert_int_eq(memcmp(a[0].data, "\x89PNG\r\n\x1a\n", 8), 0);
	/* encoded word decoded, directories dropped; type not allowed */
	ck_assert_str_eq(a[1].name, "x.bin");
	ck_assert_uint_eq(a[1].size, 4);
	ck_assert_ptr_null(a[1].data);
	ck_assert_str_eq(a[2].name, "notes.txt");
	ck_assert_ptr_nonnull(a[2].data);
	/* no name: made up */
	ck_assert_str_eq(a[3].name, "attachment-4");
	ck_assert_str_eq(a[3].type, "application/pdf");
	fg_attachments_free(a, n);

	/* the total leaves room for the first only */
	set.max_total = 10;
	ck_assert_int_eq(fg_attach_extract(mixed, strlen(mixed), &set, &a, &n,
					   &error), 0);
	ck_assert_ptr_nonnull(a[0].data);
	ck_assert_ptr_null(a[2].data);
	fg_attachments_free(a, n);
	set.max_total = 4096;
	set.max_size = 4;
	ck_assert_int_eq(fg_attach_extract(mixed, strlen(mixed), &set, &a, &n,
					   &error), 0);
	ck_assert_ptr_null(a[0].data);
	fg_attachments_free(a, n);
}
END_TEST

START_TEST(test_not_attachments)
{
	static const char plain[] =
		"From: a@example.org\r\nSubject: x\r\n\r\nJust text.\r\n";
	static const char sig[] =
		"From: a@example.org\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/signed; boundary=s;"
		" protocol=\"application/pgp-signature\"\r\n\r\n"
		"--s\r\nContent-Type: text/plain\r\n\r\nSigned text.\r\n"
		"--s\r\nContent-Type: application/pgp-signature;"
		" name=signature.asc\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n"
		"--s--\r\n";
	struct fg_attach_settings set = { .max_size = 100, .max_total = 100,
					  .types = "*/*" };
	struct fg_attachment *a;
	size_t n;
	const char *error;

	ck_assert_int_eq(fg_attach_extract(plain, strlen(plain), &set, &a, &n,
					   &error), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(fg_attach_extract(sig, strlen(sig), &set, &a, &n,
					   &error), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert(fg_attach_never("WINMAIL.DAT", "application/octet-stream"));
	ck_assert(fg_attach_never("x.p7s", "application/pkcs7-signature"));
	ck_assert(fg_attach_never("smime.p7s", NULL));
	ck_assert(!fg_attach_never("photo.jpg", "image/jpeg"));
}
END_TEST

START_TEST(test_many_parts_bounded)
{
	struct fg_buf b = { 0 };
	struct fg_attach_settings set = { .max_size = 100, .max_total = 100,
					  .types = "" };
	struct fg_attachment *a;
	size_t n;
	const char *error;

	fg_buf_puts(&b, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;"
		    " boundary=z\r\n\r\n");
	for (int i = 0; i < 5000; i++)
		fg_buf_puts(&b, "--z\r\nContent-Type: application/x-y\r\n\r\nq\r\n");
	fg_buf_puts(&b, "--z--\r\n");
	ck_assert_int_eq(fg_attach_extract(b.s, b.len, &set, &a, &n, &error),
			 0);
	ck_assert_uint_eq(n, FG_ATTACH_MAX);
	ck_assert_ptr_null(a[0].data);
	fg_attachments_free(a, n);
	fg_buf_free(&b);
}
END_TEST

START_TEST(test_types_and_base64)
{
	static const unsigned char bin[] = { 0, 1, 2, 0xff, 0xfe, 'x', 0 };
	unsigned char *out;
	size_t len;
	char *text, size[32];

	ck_assert(fg_attach_type_allowed("image/* application/pdf",
					 "image/png"));
	ck_assert(fg_attach_type_allowed("image/*,application/pdf",
					 "Application/PDF"));
	ck_assert(!fg_attach_type_allowed("image/* application/pdf",
					  "application/pdfx"));
	ck_assert(!fg_attach_type_allowed("image/*", "imagex/png"));
	ck_assert(!fg_attach_type_allowed(NULL, "image/png"));
	for (size_t n = 0; n <= sizeof(bin); n++) {
		text = fg_attach_b64_encode(bin, n);
		ck_assert_int_eq(fg_attach_b64_decode(text, &out, &len), 0);
		ck_assert_uint_eq(len, n);
		ck_assert_int_eq(memcmp(out, bin, n), 0);
		free(out);
		free(text);
	}
	ck_assert_int_eq(fg_attach_b64_decode("abc", &out, &len), -1);
	ck_assert_int_eq(fg_attach_b64_decode("a!c=", &out, &len), -1);
	fg_attach_human_size(14, size, sizeof(size));
	ck_assert_str_eq(size, "14 bytes");
	fg_attach_human_size(1536, size, sizeof(size));
	ck_assert_str_eq(size, "1.5 KB");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("attach");
	TCase *tc = tcase_create("attach");
	SRunner *sr;
	int failed;

	fg_mail_init();
	tcase_add_test(tc, test_extract);
	tcase_add_test(tc, test_not_attachments);
	tcase_add_test(tc, test_many_parts_bounded);
	tcase_add_test(tc, test_types_and_base64);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fg_mail_deinit();
	return failed == 0 ? 0 : 1;
}
