/* A network driver module for the mini kernel. */
#include "minikernel.h"

MK_MODULE_INFO(license, "GPL");
MK_MODULE_INFO(description, "dummy network device");

static int dummy_net_probe(int id)
{
	mk_log(id ? "dummy_net: extra device" : "dummy_net: first device");
	return 0;
}

static const struct mk_driver dummy_net = {
	.name = "dummy_net",
	.probe = dummy_net_probe,
};

int init_module(void)
{
	return mk_register_driver(&dummy_net);
}
