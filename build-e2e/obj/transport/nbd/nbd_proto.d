build-e2e/obj/transport/nbd/nbd_proto.o: transport/nbd/nbd_proto.c \
 transport/nbd/nbd_proto.h common/util.h
transport/nbd/nbd_proto.h:
common/util.h:
