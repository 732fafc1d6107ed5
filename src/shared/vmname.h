/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * The VM name of a QEMU process, from its "-name" option: "-name web" or libvirt's
 * "-name guest=web,debug-threads=on" both give "web". NULL when there is none.
 */
char *vm_name_from_cmdline(const char *cmdline, size_t len);

/* Reads /proc/PID/cmdline; NULL when the process has no -name or cannot be read. */
char *vm_name_of_pid(pid_t pid);
