build-e2e/obj/tools/adm_client.o: tools/adm_client.c tools/adm.h \
 tools/ctl_proto.h common/version.h common/util.h
tools/adm.h:
tools/ctl_proto.h:
common/version.h:
common/util.h:
