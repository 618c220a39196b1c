# SPDX-License-Identifier: GPL-2.0-or-later
#
# A hand-written profile: a Chelsio T580-LP-CR virtual function (1425:5810),
# as far as it is publicly known (see shared/t5vf.md: FreeBSD pciconf -lvc of
# a real VF, QEMU's T5 PBA quirk, the Linux cxgb4vf driver).  It shows every
# kind of directive; docs/profile-format.md describes the format.
#
# Known: the capability chain and its offsets (0x70 -> 0xb0 -> 0x50), the
# extended chain (AER 0x100, ARI 0x140, TPH 0x150), MSI-X with 8 vectors in
# BAR4 whose PBA the hardware reports at 0x8000 although BAR4 is only 8 KiB
# (the real PBA is at 0x1000), MSI with 32 vectors, 64-bit, maskable.
# Guessed: the sizes of BAR0 and BAR2, the BAR addresses, the link fields
# other than those pciconf prints.  The sim's chelsio-t5-vf model is the
# behavioural one (mailbox, firmware); this profile is only the shape.

profile 1
name Chelsio T580-LP-CR Unified Wire Ethernet Controller [VF] (hand-written)
config-size 4096
vf yes

# What sysfs publishes (a VF's own Vendor/Device ID registers read 0xffff).
vendor 0x1425
device 0x5810
subsystem_vendor 0x1425
subsystem_device 0x0000
class 0x020000
revision 0x00

# BARs of a VF live in the PF's SR-IOV capability; these are the VF's
# slices as the kernel assigns them.  The VF's own BAR registers read 0.
bar 0 mem64 size=0x1000 addr=0x383ffe000000
bar 2 mem64 prefetch size=0x10000 addr=0x383ffc000000
bar 4 mem64 size=0x2000 addr=0x383ffe100000

# ---- config space ------------------------------------------------------
#                  vendor  device  command status  rev class
config 0x000: ff ff ff ff 00 00 10 00 00 00 00 02
#                  subsystem vendor / device
config 0x02c: 25 14 00 00
#                  capability pointer
config 0x034: 70

# MSI at 0x50: 32 vectors, 64-bit, per-vector masking; next: end.
config 0x050: 05 00 8a 01

# PCI Express at 0x70, version 2, endpoint; next 0xb0.
#   DevCap: MPS 2048, FLR.  DevCtl: MPS 256, No Snoop, MRRS 512.
#   LnkCap: 8 GT/s x8, ASPM L0s/L1.  LnkSta: 0 (a VF).
config 0x070: 10 b0 02 00 04 00 00 10 20 28 00 00 83 0c 00 00

# MSI-X at 0xb0: 8 vectors; table BAR4+0; PBA reported at BAR4+0x8000.
config 0x0b0: 11 50 07 00 04 00 00 00 04 80 00 00

# Extended: AER v2 at 0x100 (next 0x140), default severities.
config 0x100: 01 00 02 14 00 00 00 00 00 00 00 00 30 20 46 00
config 0x110: 00 00 00 00 00 20 00 00
# ARI v1 at 0x140 (next 0x150), TPH Requester v1 at 0x150 (end).
config 0x140: 0e 00 01 15
config 0x150: 17 00 01 00 01 00 00 00

# ---- overrides ---------------------------------------------------------
# The T5 VF erratum: the PBA really is at 0x1000.
msix pba=0x1000

# ---- BAR contents (the rest of each BAR reads all-ones) -----------------
# PL_VF_WHOAMI: anything but 0xffffffff / 0xeeeeeeee means "ready".
reg 0 0x200 4 0x00000000 name=PL_VF_WHOAMI
# Read by Linux as PL_VF_REV (the SGE_VF_GTS slot): chip revision in 3:0.
reg 0 0x004 4 0x00000000 rw=0xffffffff name=SGE_VF_GTS
# Mailbox data (16 words) and control (owner in bits 1:0).
ram 0 0x240 0x40
reg 0 0x300 4 0x00000000 rw=0x0000000f name=CIM_VF_EXT_MAILBOX_CTRL
