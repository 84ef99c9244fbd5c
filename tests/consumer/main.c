/* The installed-package consumer: the public header and a few calls. */
#include <laperm/laperm.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *v = laperm_version();
    printf("laperm %s; status %d is '%s'\n", v, (int)LAPERM_E_IO, laperm_status_name(LAPERM_E_IO));
    if (strcmp(v, LAPERM_VERSION) != 0) {
        fprintf(stderr, "version mismatch: library %s, header %s\n", v, LAPERM_VERSION);
        return 1;
    }
    if (strcmp(laperm_status_name(LAPERM_OK), "ok") != 0) return 1;
    /* A call into the data readers: a missing directory is an error. */
    laperm_dataset *d = NULL;
    laperm_status s = laperm_mnist_load("/nonexistent-laperm-consumer", 1, &d);
    if (s == LAPERM_OK || d) return 1;
    printf("expected error: %s\n", laperm_last_error());
    return 0;
}
