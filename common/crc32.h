/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * common/crc32: the CRC-32 of zlib's crc32() (IEEE 802.3, reflected,
 * polynomial 0xedb88320, initial and final XOR 0xffffffff), table-driven.
 * crc32_update(0, buf, len) is zlib's crc32(0, buf, len); chaining works
 * the same way (crc32_update(crc32_update(0, a, n), b, m)).
 */
#ifndef COMMON_CRC32_H
#define COMMON_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32_update(uint32_t crc, const void *buf, size_t len);

#endif
