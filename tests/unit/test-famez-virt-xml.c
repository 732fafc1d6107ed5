/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "famez-virt-xml.h"
#include "testlib.h"

static const FamezVirtConfig base = { .socket_path = "/run/famez/famez.sock", .vectors = 16 };

static const char plain_pc[] = "<domain type='qemu'><name>a</name><memory>65536</memory>"
			       "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
			       "<devices><disk type='file'/></devices></domain>";

static char *inject(const char *xml, const FamezVirtConfig *c)
{
	char *out = NULL, *error = NULL;
	int r = famez_virt_inject(xml, strlen(xml), c, &out, &error);

	ck_assert_msg(r == 0, "inject failed: %s", error);
	return out;
}

static char *removed(const char *xml)
{
	char *out = NULL, *error = NULL;

	ck_assert_int_eq(famez_virt_remove(xml, strlen(xml), &out, &error), 0);
	return out;
}

static unsigned count(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

START_TEST(test_plain_domain)
{
	char *out = inject(plain_pc, &base);

	ck_assert(strstr(out, "xmlns:qemu=\"" FAMEZ_VIRT_QEMU_NS "\""));
	ck_assert(strstr(out, "<qemu:arg value=\"-chardev\"/>"));
	ck_assert(strstr(out, "socket,id=famez-chardev,path=/run/famez/famez.sock"));
	ck_assert(strstr(out, "ivshmem-doorbell,id=famez-device,chardev=famez-chardev,vectors=16,"
			      "bus=pci.0,addr=0x1f"));
	/* What the user wrote stays. */
	ck_assert(strstr(out, "<disk type=\"file\"/>"));
	ck_assert(strstr(out, "<name>a</name>"));
	free(out);
}
END_TEST

START_TEST(test_q35_gets_a_pcie_root_slot)
{
	const char *q35 = "<domain type='qemu'><name>b</name><os><type machine='pc-q35-7.2'>hvm"
			  "</type></os></domain>";
	char *out = inject(q35, &base);

	ck_assert(strstr(out, "bus=pcie.0,addr=0x1c"));
	free(out);
}
END_TEST

START_TEST(test_other_args_survive_and_reinjection_is_idempotent)
{
	const char *mine = "<domain type='kvm' xmlns:qemu='" FAMEZ_VIRT_QEMU_NS "'><name>c</name>"
			   "<qemu:commandline><qemu:arg value='-s'/><qemu:arg value='-device'/>"
			   "<qemu:arg value='virtio-rng-pci,id=rng9'/></qemu:commandline></domain>";
	char *once = inject(mine, &base), *twice = inject(once, &base), *back;

	ck_assert_str_eq(once, twice);
	ck_assert_uint_eq(count(once, "famez-chardev,path"), 1);
	/* The user's stanza and ours. */
	ck_assert_uint_eq(count(once, "<qemu:commandline>"), 2);
	ck_assert(strstr(once, "virtio-rng-pci,id=rng9"));
	ck_assert(strstr(once, "<qemu:arg value=\"-s\"/>"));

	/* Removal takes out exactly what famez added. */
	back = removed(twice);
	ck_assert(!strstr(back, "famez"));
	ck_assert(strstr(back, "virtio-rng-pci,id=rng9"));
	ck_assert(strstr(back, "<qemu:arg value=\"-s\"/>"));
	ck_assert(strstr(back, "<qemu:commandline>"));
	free(once);
	free(twice);
	free(back);
}
END_TEST

START_TEST(test_namespace_under_another_prefix)
{
	const char *other = "<domain type='qemu' xmlns:q='" FAMEZ_VIRT_QEMU_NS "'><name>d</name>"
			    "<q:commandline><q:arg value='-nographic'/></q:commandline></domain>";
	char *out = inject(other, &base);

	/* The existing prefix is used, not a second declaration. */
	ck_assert_uint_eq(count(out, FAMEZ_VIRT_QEMU_NS), 1);
	ck_assert(strstr(out, "<q:arg value=\"-chardev\"/>"));
	ck_assert(strstr(out, "<q:arg value=\"-nographic\"/>"));
	free(out);
}
END_TEST

START_TEST(test_remove_restores_a_plain_domain)
{
	char *plain = removed(plain_pc), *out = inject(plain_pc, &base), *back = removed(out);

	/* The same as the domain before, declaration of the namespace included. */
	ck_assert_str_eq(back, plain);
	free(plain);
	free(out);
	free(back);
}
END_TEST

START_TEST(test_fam)
{
	FamezVirtConfig c = base;
	char *out, *back;

	c.fam_path = "/var/lib/famez/fam,1";
	c.fam_size = 1ULL << 30;
	out = inject(plain_pc, &c);
	ck_assert(strstr(out, "memory-backend-file,id=famez-fam,mem-path=/var/lib/famez/fam,,1,"
			      "size=1073741824,share=on"));
	ck_assert(strstr(out, "ivshmem-plain,id=famez-fam-device,memdev=famez-fam,bus=pci.0,"
			      "addr=0x1e"));
	back = removed(out);
	ck_assert(!strstr(back, "famez"));
	free(out);
	free(back);
}
END_TEST

START_TEST(test_native)
{
	FamezVirtConfig c = base;
	char *commandline = inject(plain_pc, &base), *out, *back, *error = NULL;
	FamezVirtInfo info;

	c.native = true;
	/* From the commandline form to the native one: the stanza goes. */
	out = inject(commandline, &c);
	ck_assert(!strstr(out, "qemu:"));
	ck_assert(strstr(out, "<shmem name=\"famez\">"));
	ck_assert(strstr(out, "<model type=\"ivshmem-doorbell\"/>"));
	ck_assert(strstr(out, "<server path=\"/run/famez/famez.sock\"/>"));
	ck_assert(strstr(out, "<msi vectors=\"16\" ioeventfd=\"on\"/>"));
	ck_assert_int_eq(famez_virt_inspect(out, strlen(out), &info, &error), 0);
	ck_assert(info.attached && info.native);
	ck_assert_str_eq(info.socket_path, "/run/famez/famez.sock");
	ck_assert_uint_eq(info.vectors, 16);
	back = removed(out);
	ck_assert(!strstr(back, "shmem"));
	ck_assert(strstr(back, "<disk type=\"file\"/>"));
	free(out);

	c.fam_path = "/x";
	c.fam_size = 4096;
	ck_assert_int_eq(famez_virt_inject(plain_pc, strlen(plain_pc), &c, &out, &error), -EINVAL);
	ck_assert(strstr(error, "--fam needs the commandline form"));
	free(error);
	free(commandline);
	free(back);
}
END_TEST

START_TEST(test_stray_text_in_the_stanza_is_kept)
{
	/* Found by fuzz-virt-xml: text the user left in the stanza survives re-injection. */
	const char *odd = "<domain type='kvm' xmlns:q='" FAMEZ_VIRT_QEMU_NS "'><name>b</name>"
			  "<q:commandline>stray text</q:commandline></domain>";
	char *once = inject(odd, &base), *twice = inject(once, &base), *back = removed(twice);

	ck_assert_str_eq(once, twice);
	ck_assert(strstr(back, "stray text"));
	free(once);
	free(twice);
	free(back);
}
END_TEST

START_TEST(test_blank_domain_lays_out_the_same_twice)
{
	/* Found by fuzz-virt-xml: only blanks in <domain> made the first layout differ. */
	char *once = inject("<domain> </domain>", &base), *twice = inject(once, &base);

	ck_assert_str_eq(once, twice);
	free(once);
	free(twice);
}
END_TEST

START_TEST(test_empty_stanza_of_the_user_is_kept)
{
	/* Found by fuzz-virt-xml: an empty stanza the user wrote was taken as famez's. */
	const char *two = "<domain xmlns:q='" FAMEZ_VIRT_QEMU_NS "'><name>e</name>"
			  "<q:commandline/><q:commandline>text</q:commandline></domain>";
	char *once = inject(two, &base), *twice = inject(once, &base), *back = removed(twice);

	ck_assert_str_eq(once, twice);
	ck_assert_uint_eq(count(back, "<q:commandline/>"), 1);
	ck_assert(strstr(back, "text"));
	free(once);
	free(twice);
	free(back);
}
END_TEST

START_TEST(test_inspect)
{
	FamezVirtConfig c = base;
	char *out, *error = NULL;
	FamezVirtInfo info;

	ck_assert_int_eq(famez_virt_inspect(plain_pc, strlen(plain_pc), &info, &error), 0);
	ck_assert(!info.attached);
	c.socket_path = "/tmp/a,b.sock";
	c.vectors = 4;
	out = inject(plain_pc, &c);
	ck_assert_int_eq(famez_virt_inspect(out, strlen(out), &info, &error), 0);
	ck_assert(info.attached && !info.native && !info.fam);
	ck_assert_str_eq(info.socket_path, "/tmp/a,b.sock");
	ck_assert_uint_eq(info.vectors, 4);
	free(out);
}
END_TEST

START_TEST(test_a_lone_option_string_is_the_users)
{
	/*
	 * Found by fuzz-virt-xml: an option string with id=famez-... and no -device before it
	 * was reported attached, and stayed after a removal.
	 */
	const char *lone = "<domain xmlns:q='" FAMEZ_VIRT_QEMU_NS "'><name>l</name>"
			   "<q:commandline><q:arg value='id=famez--s'/>"
			   "<q:arg value='-device'/><q:arg value='-device'/>"
			   "<q:arg value='e1000,id=famez-nic'/></q:commandline></domain>";
	char *error = NULL, *back;
	FamezVirtInfo info;

	ck_assert_int_eq(famez_virt_inspect(lone, strlen(lone), &info, &error), 0);
	ck_assert(info.attached);
	back = removed(lone);
	ck_assert_uint_eq(count(back, "id=famez--s"), 1);
	ck_assert_uint_eq(count(back, "famez-nic"), 0);
	ck_assert_uint_eq(count(back, "\"-device\""), 1);
	ck_assert_int_eq(famez_virt_inspect(back, strlen(back), &info, &error), 0);
	ck_assert(!info.attached);
	free(back);
}
END_TEST

START_TEST(test_malformed_input)
{
	const char *bad[] = {
		"not xml at all",
		"<domain><name>unclosed</domain>",
		"<network><name>n</name></network>",
		"<x:domain xmlns:x='urn:other'/>",
		"",
		/* Found by fuzz-virt-xml: a prefix with a colon is not namespace-well-formed. */
		"<domain xmlns:q:='" FAMEZ_VIRT_QEMU_NS "'><q::commandline/></domain>",
	};
	const char *network_why = "not a libvirt domain: the root element is <network>";
	const char *why[] = { "not XML", "not XML", network_why, "not a libvirt domain",
			      "not XML", "not XML" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL, *error = NULL;

		ck_assert_int_eq(famez_virt_inject(bad[i], strlen(bad[i]), &base, &out, &error),
				 -EINVAL);
		ck_assert_ptr_null(out);
		ck_assert_msg(error && strstr(error, why[i]), "%zu: %s", i, error);
		ck_assert_ptr_null(strchr(error, '\n'));
		free(error);
		ck_assert_int_eq(famez_virt_remove(bad[i], strlen(bad[i]), &out, &error), -EINVAL);
		free(error);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("famez-virt-xml");
	TCase *tc = tcase_create("famez-virt-xml");

	tcase_add_test(tc, test_plain_domain);
	tcase_add_test(tc, test_q35_gets_a_pcie_root_slot);
	tcase_add_test(tc, test_other_args_survive_and_reinjection_is_idempotent);
	tcase_add_test(tc, test_namespace_under_another_prefix);
	tcase_add_test(tc, test_remove_restores_a_plain_domain);
	tcase_add_test(tc, test_fam);
	tcase_add_test(tc, test_native);
	tcase_add_test(tc, test_stray_text_in_the_stanza_is_kept);
	tcase_add_test(tc, test_blank_domain_lays_out_the_same_twice);
	tcase_add_test(tc, test_empty_stanza_of_the_user_is_kept);
	tcase_add_test(tc, test_inspect);
	tcase_add_test(tc, test_a_lone_option_string_is_the_users);
	tcase_add_test(tc, test_malformed_input);
	suite_add_tcase(s, tc);
	return testlib_run_suite(s);
}
