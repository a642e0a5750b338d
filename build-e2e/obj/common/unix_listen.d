build-e2e/obj/common/unix_listen.o: common/unix_listen.c \
 common/unix_listen.h
common/unix_listen.h:
