/* The pod sandbox's first process: holds the pod's namespaces open, reaps orphans that end up
 * with it (it is PID 1 of a pod that shares its PID namespace) and exits on SIGINT or SIGTERM. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static void on(int sig, void (*handler)(int)) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(sig, &action, NULL) != 0) exit(1);
}

int main(void) {
  on(SIGINT, quit);
  on(SIGTERM, quit);
  on(SIGCHLD, reap);
  for (;;) pause();
}
