/* A miniature vmlinux.unstripped, portable across GNU as targets: only
 * data directives, so one source assembles for every architecture. */
	.section .text,"ax"
	.globl _start
_start:
	.byte 1, 2, 3, 4, 5, 6, 7, 8
	.dc.a data_word
	.dc.a __mod_device_table__pci__foo
	.balign 16
	.globl helper
	.type helper, %function
helper:
	.byte 9, 10, 11, 12
	.size helper, 4

	.section .rodata,"a"
	.balign 8
	.type __mod_device_table__usb__bar, %object
__mod_device_table__usb__bar:
	.long 5, 6
	.size __mod_device_table__usb__bar, 8
	.globl __mod_device_table__pci__foo
	.type __mod_device_table__pci__foo, %object
__mod_device_table__pci__foo:
	.long 1, 2, 3, 4
	.size __mod_device_table__pci__foo, 16
	.globl __mod_device_table_not
__mod_device_table_not:
	.long 7

	.section .module_hashes,"a"
	.balign 4
	.globl module_hashes_root
	.type module_hashes_root, %object
module_hashes_root:
	.fill 36, 1, 0
	.size module_hashes_root, 36

	.section .modinfo,"a"
__UNIQUE_ID_author:
	.asciz "mini.author=me"
__UNIQUE_ID_license:
	.asciz "mini.license=GPL"

	.section .notes,"a",%note
	.balign 4
	.long 4, 4, 1
	.asciz "Min"
	.long 0x12345678

	.data
	.balign 8
	.globl data_word
data_word:
	.dc.a helper
	.dc.a __UNIQUE_ID_author
	.long 42

	.section .data..percpu,"aw"
	.balign 64
	.globl per_cpu_var
per_cpu_var:
	.dc.a data_word
	.fill 60, 1, 0

	.section .init.data,"aw"
	.globl init_word
init_word:
	.dc.a per_cpu_var
	.dc.a __mod_device_table__usb__bar

	.bss
	.balign 8
	.globl bss_word
bss_word:
	.zero 64
