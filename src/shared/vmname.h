/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* The longest VM name kept, in bytes; longer ones are cut (str_sanitize()). */
#define VM_NAME_MAX 256

/*
 * The VM name of a QEMU process, from its "-name" option: "-name web" or libvirt's
 * "-name guest=web,debug-threads=on" both give "web". NULL when there is none. The name is
 * sanitized (strutil.h): printable, valid UTF-8, at most VM_NAME_MAX bytes.
 */
char *vm_name_from_cmdline(const char *cmdline, size_t len);

/* Reads /proc/PID/cmdline; NULL when the process has no -name or cannot be read. */
char *vm_name_of_pid(pid_t pid);
