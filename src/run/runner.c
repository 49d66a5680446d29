/* The parent side of a run: one child process per step, phases in order,
 * a watchdog per step, a clean stop on SIGINT/SIGTERM, and a run that
 * outlives its terminal (SIGHUP). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/wire.h"
#include "kiln/bus.h"
#include "kiln/context.h"
#include "kiln/step.h"
#include "kiln/textutil.h"
#include "run/interim.h"
#include "run/runner.h"

/* Bounds a misbehaving child's hold on the parent's memory. */
#define MAX_EVENTS_PER_STEP 20000
#define MAX_LINE (64 * 1024)
/* After SIGTERM, how long a child gets before SIGKILL. */
#define TERM_GRACE 2.0
/* The loop comes round at least every 250 ms; a longer gap means the parent
 * itself did not run (Ctrl-Z, a VM stall, heavy swapping). */
#define POLL_MS 250
#define PARENT_STALL 2.0

struct child {
  const struct kiln_plan_step *plan;
  struct kiln_step_result *res;
  pid_t pid;
  int fd; /* read end, -1 once at EOF */
  bool reaped;
  int status;
  char *buf;
  size_t len, cap;
  /* Monotonic, shifted past the parent's own stalls (see skip_stall). */
  double started, last_event;
  size_t events;
  bool got_end;
  double end_seen; /* monotonic time its end was read */
  double end_time; /* wall clock the child sent with its end, or 0 */
  bool end_killed; /* killed for not exiting after its end */
  enum kiln_verdict end_verdict;
  char *end_reason;
  char *kill_reason; /* set when the watchdog or an abort ended it */
  enum kiln_verdict kill_verdict;
  double kill_at; /* monotonic time for SIGKILL after SIGTERM, or 0 */
  char *protocol_error;
  double start_at; /* monotonic time a staggered GPU step starts, or 0 */
  bool queued;     /* waits for its module's other steps (start_at = inf) */
  struct kiln_interim interim; /* its running figures */
};

static int signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_signal;
/* SIGHUP: the operator's terminal is gone. The run goes on; the terminal
 * fds are pointed at /dev/null at once, so no write meets a dead tty. */
static volatile sig_atomic_t hangup_seen;
static int devnull_fd = -1;
static bool fd_is_terminal[3];
/* Why the operator stopped the run from inside kiln (the dashboard's q);
 * NULL when a signal did. */
static char stop_reason[128];

void kiln_runner_request_stop(const char *reason) {
  snprintf(stop_reason, sizeof stop_reason, "%s", reason);
  stop_signal = SIGTERM;
}

/* "SIGTERM received", or the operator's reason. */
static const char *stop_text(int sig) {
  if (stop_reason[0])
    return stop_reason;
  return sig == SIGINT ? "SIGINT received" : "SIGTERM received";
}

static void on_signal(int sig) {
  int saved = errno;
  if (sig == SIGINT || sig == SIGTERM)
    stop_signal = sig;
  if (sig == SIGHUP) {
    hangup_seen = 1;
    for (int fd = 0; fd < 3; fd++)
      if (fd_is_terminal[fd] && devnull_fd >= 0)
        dup2(devnull_fd, fd);
  }
  if (signal_pipe[1] >= 0) {
    char c = (char)sig;
    (void)!write(signal_pipe[1], &c, 1);
  }
  errno = saved;
}

/* on_signal for sig, restarting interrupted calls. */
static void catch_signal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, NULL);
}

void kiln_runner_survive_hangup(void) {
  if (devnull_fd < 0)
    devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  /* Which fds are the terminal is known now: once it hangs up, it no
   * longer answers as one. */
  if (!hangup_seen)
    for (int fd = 0; fd < 3; fd++)
      fd_is_terminal[fd] = isatty(fd);
  catch_signal(SIGHUP);
  signal(SIGPIPE, SIG_IGN);
}

bool kiln_runner_hung_up(void) { return hangup_seen; }

static void install_handlers(void) {
  if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    signal_pipe[0] = signal_pipe[1] = -1;
  kiln_runner_survive_hangup();
  catch_signal(SIGINT);
  catch_signal(SIGTERM);
  catch_signal(SIGCHLD);
}

static void restore_child_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGCHLD, &sa, NULL);
  sigaction(SIGPIPE, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static _Noreturn void child_main(const struct kiln_plan_step *p, int wfd,
                                 pid_t parent) {
  restore_child_signals();
  setpgid(0, 0);
  /* No child outlives kiln, even if kiln is SIGKILLed. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(127);
  char name[16];
  snprintf(name, sizeof name, "kiln/%s", p->module->name);
  prctl(PR_SET_NAME, name);
  /* The parent is the only writer of output. */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
  }
  if (wfd != 3) {
    dup2(wfd, 3);
    wfd = 3;
  }
  close_range(4, ~0U, 0);

  struct kiln_settings settings;
  kiln_plan_step_settings(p, &settings);
  struct kiln_step_config cfg = {
      .module = p->module,
      .id = p->id,
      .target = p->target,
      .target_index = p->target_index,
      .duration = p->duration,
      .params = settings.params,
      .n_params = settings.n_params,
      .sku_params = settings.sku_params,
      .n_sku_params = settings.n_sku_params,
      .inject = (const char *const *)p->inject,
      .sku_note = p->sku_note,
      .sku_provisional = p->sku && p->sku->provisional,
      .publish_every = kiln_context()->publish_every,
  };
  struct kiln_step *s = kiln_step_new(&cfg, wfd);
  if (cfg.sku_note)
    kiln_emit_log(s,
                  cfg.sku_provisional || !p->sku || p->sku_mismatch
                      ? KILN_SEV_WARNING
                      : KILN_SEV_INFO,
                  "%s", cfg.sku_note);
  /* Faults that belong to no module: this wrapper does them, so every
   * module is covered. */
  if (kiln_step_inject(s, "step.crash")) {
    kiln_emit_log(s, KILN_SEV_WARNING, "injected fault step.crash: crashing");
    kiln_emit_progress(s, 0.1);
    raise(SIGSEGV);
  }
  if (kiln_step_inject(s, "step.hang")) {
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "injected fault step.hang: no more progress");
    for (;;)
      pause();
  }
  kiln_step_run(s);
  kiln_step_free(s);
  _exit(0);
}

static int spawn(struct child *c) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -1;
  fflush(NULL); /* a child must not inherit unflushed report buffers */
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    close(fds[0]);
    child_main(c->plan, fds[1], parent);
  }
  setpgid(pid, pid); /* both sides set it: no race with the first kill */
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  c->pid = pid;
  c->fd = fds[0];
  c->started = c->last_event = kiln_monotonic_now();
  return 0;
}

/* Every limit that applies to the step goes on its result before it
 * starts: the profile's, then the GPU SKU's where the profile sets none,
 * then the module's defaults. The step is judged against them, and one
 * that is never measured keeps it from passing. */
static void set_limit(void *result, const char *measurement,
                      const struct kiln_limit *limit) {
  kiln_step_set_limit(result, measurement, limit);
}

static void set_limits(const struct kiln_plan_step *p,
                       struct kiln_step_result *r) {
  struct kiln_settings settings;
  kiln_plan_step_settings(p, &settings);
  kiln_settings_limits(&settings, set_limit, r);
}

static void handle_event(struct child *c, struct kiln_wire_event *ev,
                         struct kiln_run *run, struct kiln_bus *bus) {
  struct kiln_step_result *r = c->res;
  double t = ev->time > 0 ? ev->time : kiln_now();
  if (ev->type == KILN_WIRE_RUNNING) { /* kiln_interim bounds these */
    double every = kiln_context()->publish_every;
    kiln_interim_add(&c->interim, bus, run, r, ev->name, ev->unit, ev->hwid,
                     ev->value, t,
                     every > 0 ? every : KILN_PUBLISH_EVERY_DEFAULT);
    return;
  }
  if (++c->events == MAX_EVENTS_PER_STEP) {
    struct kiln_log *l = kiln_step_add_log(
        r, KILN_SEV_WARNING, "too many events: further ones are dropped", t);
    kiln_bus_log(bus, run, r, l);
  }
  if (c->events >= MAX_EVENTS_PER_STEP && ev->type != KILN_WIRE_END &&
      ev->type != KILN_WIRE_PROGRESS)
    return;
  switch (ev->type) {
  case KILN_WIRE_MEASUREMENT: {
    struct kiln_measurement *m =
        kiln_step_add_measurement(r, ev->name, ev->value, ev->unit,
                                  kiln_step_limit(r, ev->name), ev->hwid, t);
    kiln_bus_measurement(bus, run, r, m);
    break;
  }
  case KILN_WIRE_DIAGNOSIS: {
    enum kiln_diag_type type = ev->diag_type == KILN_DIAG_FAIL ? KILN_DIAG_FAIL
                               : ev->diag_type == KILN_DIAG_PASS
                                   ? KILN_DIAG_PASS
                                   : KILN_DIAG_UNKNOWN;
    struct kiln_diagnosis *d =
        kiln_step_add_diagnosis(r, type, ev->symptom, ev->message, ev->hwid, t);
    kiln_bus_diagnosis(bus, run, r, d);
    break;
  }
  case KILN_WIRE_LOG: {
    struct kiln_log *l = kiln_step_add_log(r, ev->severity, ev->message, t);
    kiln_bus_log(bus, run, r, l);
    break;
  }
  case KILN_WIRE_PROGRESS:
    r->progress = ev->value;
    kiln_bus_progress(bus, run, r);
    break;
  case KILN_WIRE_RUNNING: break; /* handled above */
  case KILN_WIRE_END:
    c->got_end = true;
    c->end_seen = kiln_monotonic_now();
    c->end_time = ev->time;
    c->end_verdict = ev->verdict;
    free(c->end_reason);
    c->end_reason =
        ev->message && ev->message[0] ? kiln_xstrdup(ev->message) : NULL;
    break;
  }
}

static void read_events(struct child *c, struct kiln_run *run,
                        struct kiln_bus *bus) {
  for (;;) {
    if (c->cap - c->len < 4096) {
      c->cap = c->cap ? 2 * c->cap : 8192;
      c->buf = kiln_xrealloc(c->buf, c->cap);
    }
    ssize_t got = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      if (got == 0 || errno != EAGAIN) {
        close(c->fd);
        c->fd = -1;
      }
      break;
    }
    c->len += (size_t)got;
    c->buf[c->len] = 0;
    c->last_event = kiln_monotonic_now();
    char *line = c->buf, *nl;
    while ((nl = memchr(line, '\n', c->len - (size_t)(line - c->buf)))) {
      *nl = 0;
      struct kiln_wire_event ev;
      char err[256];
      if (kiln_wire_decode(line, &ev, err, sizeof err) == 0) {
        handle_event(c, &ev, run, bus);
        kiln_wire_event_clear(&ev);
      } else if (!c->protocol_error) {
        c->protocol_error = kiln_strdup_printf("protocol error: %s", err);
      }
      line = nl + 1;
    }
    size_t rest = c->len - (size_t)(line - c->buf);
    memmove(c->buf, line, rest);
    c->len = rest;
    if (c->len > MAX_LINE && !c->protocol_error) {
      c->protocol_error = kiln_xstrdup("protocol error: event line too long");
      c->len = 0;
    }
  }
}

static void kill_child(struct child *c, int sig) {
  if (!c->reaped && c->pid > 0)
    kill(-c->pid, sig);
}

static void end_child(struct child *c, enum kiln_verdict v, const char *why,
                      int sig) {
  if (c->kill_reason)
    return;
  c->kill_reason = kiln_xstrdup(why);
  c->kill_verdict = v;
  kill_child(c, sig);
  if (sig == SIGTERM)
    c->kill_at = kiln_monotonic_now() + TERM_GRACE;
}

/* Judges a step's time. Called after its events were read: a step that has
 * sent its end is never judged overrun, only bounded in how long it may
 * take to exit. */
static void watchdog(struct child *c, const struct kiln_runner_options *o) {
  if (c->reaped || c->kill_reason)
    return;
  double now = kiln_monotonic_now();
  char why[160];
  if (c->got_end) {
    if (!c->end_killed && now - c->end_seen > o->grace) {
      c->end_killed = true;
      kill_child(c, SIGKILL); /* its verdict stays the one it sent */
    }
  } else if (now - c->last_event > o->hang_timeout) {
    snprintf(why, sizeof why, "hung: no progress for %.0f s",
             now - c->last_event);
    end_child(c, KILN_ERROR, why, SIGKILL);
  } else if (now - c->started > c->plan->duration + o->grace) {
    snprintf(why, sizeof why,
             "hung: still running %.0f s after its %.0f s duration",
             now - c->started - c->plan->duration, c->plan->duration);
    end_child(c, KILN_ERROR, why, SIGKILL);
  }
}

/* A stall of the parent alone must not count against a step: the clock of
 * every started step moves past it, as if the parent had not stopped. */
static void skip_stall(struct child *kids, size_t n, double stall) {
  for (size_t i = 0; i < n; i++) {
    struct child *c = &kids[i];
    if (c->reaped || c->start_at > 0 || c->pid <= 0)
      continue;
    c->started += stall;
    c->last_event += stall;
    if (c->got_end)
      c->end_seen += stall;
    if (c->kill_at > 0)
      c->kill_at += stall;
  }
}

/* The verdict the runner saw; kiln_step_finish() adds what the child found. */
static void finish(struct child *c, struct kiln_run *run,
                   struct kiln_bus *bus) {
  enum kiln_verdict v;
  char why[256] = "";
  if (c->kill_reason) {
    v = c->kill_verdict;
    snprintf(why, sizeof why, "%s", c->kill_reason);
  } else if (c->got_end) {
    v = c->end_verdict;
    if (c->end_reason)
      snprintf(why, sizeof why, "%s", c->end_reason);
  } else if (WIFSIGNALED(c->status) && (WTERMSIG(c->status) == SIGTERM ||
                                        WTERMSIG(c->status) == SIGINT)) {
    /* Not sent by kiln (that would be a kill_reason) and no crash: a
     * batch system stopping a job signals every process of it (Slurm's
     * scancel, its time limit), the step's as well as kiln's. */
    v = KILN_ABORTED;
    snprintf(why, sizeof why,
             "aborted: SIG%s from outside kiln stopped the step's process",
             sigabbrev_np(WTERMSIG(c->status)));
  } else if (WIFSIGNALED(c->status)) {
    int sig = WTERMSIG(c->status);
    v = KILN_ERROR;
    snprintf(why, sizeof why, "crashed: killed by signal %d (SIG%s: %s)", sig,
             sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", strsignal(sig));
  } else {
    v = KILN_ERROR;
    snprintf(why, sizeof why, "exited with status %d without a result",
             WEXITSTATUS(c->status));
  }
  if (c->protocol_error && v == KILN_PASS) {
    v = KILN_ERROR;
    snprintf(why, sizeof why, "%s", c->protocol_error);
  }
  kiln_interim_end(&c->interim, bus, run, c->res);
  /* The child's own clock dates an end it sent: the parent may have read it
   * late. */
  double end = c->got_end && !c->kill_reason && c->end_time >= c->res->start &&
                       c->end_time <= kiln_now()
                   ? c->end_time
                   : kiln_now();
  size_t logs = c->res->n_logs;
  kiln_step_finish(c->res, v, why[0] ? why : NULL, end);
  /* What finishing added (a limit left unmeasured) goes out too. */
  for (size_t i = logs; i < c->res->n_logs; i++)
    kiln_bus_log(bus, run, c->res, &c->res->logs[i]);
  kiln_bus_step_end(bus, run, c->res);
}

static void free_child(struct child *c) {
  if (c->fd >= 0)
    close(c->fd);
  free(c->buf);
  free(c->end_reason);
  free(c->kill_reason);
  free(c->protocol_error);
  kiln_interim_free(&c->interim);
}

static void drain_signal_pipe(void) {
  char buf[64];
  while (signal_pipe[0] >= 0 && read(signal_pipe[0], buf, sizeof buf) > 0) {
  }
}

static void abort_running(struct child *kids, size_t n, int sig) {
  char why[160];
  snprintf(why, sizeof why, "aborted: %s", stop_text(sig));
  for (size_t i = 0; i < n; i++)
    if (!kids[i].reaped && kids[i].pid > 0)
      end_child(&kids[i], KILN_ABORTED, why, SIGTERM);
}

/* Starts one step: its start event, then its process (or its end, when it
 * is skipped or cannot start). Returns 1 when a process now runs. */
static size_t start_child(struct child *c, struct kiln_run *run,
                          struct kiln_bus *bus) {
  c->start_at = 0;
  c->res->state = KILN_STEP_RUNNING;
  c->res->start = kiln_now();
  set_limits(c->plan, c->res);
  kiln_bus_step_start(bus, run, c->res);
  if (!kiln_plan_step_runs(c->plan)) {
    c->reaped = true;
    if (c->plan->skip_reason)
      kiln_step_finish(c->res, KILN_SKIP, c->plan->skip_reason, kiln_now());
    else
      kiln_step_finish(c->res, KILN_ERROR, c->plan->error_reason, kiln_now());
    kiln_bus_step_end(bus, run, c->res);
    return 0;
  }
  if (stop_signal || spawn(c) != 0) {
    c->reaped = true;
    kiln_step_finish(c->res, stop_signal ? KILN_ABORTED : KILN_ERROR,
                     stop_signal ? "aborted before it started"
                                 : "cannot start its process",
                     kiln_now());
    kiln_bus_step_end(bus, run, c->res);
    return 0;
  }
  return 1;
}

/* Whether a step of module m is running (started and not yet reaped). */
static bool module_busy(const struct child *kids, size_t n,
                        const struct kiln_module *m) {
  for (size_t i = 0; i < n; i++)
    if (kids[i].plan->module == m && kids[i].start_at == 0 && kids[i].pid > 0 &&
        !kids[i].reaped)
      return true;
  return false;
}

/* One phase's steps: their children, how many of them run now, and how
 * many wait to start (staggered, or queued behind their module). */
struct phase {
  struct child *kids;
  size_t n;
  size_t alive, waiting;
};

/* Whether an earlier step of the phase is of c's module and runs: a
 * module whose GPUs share something (pcie.bw: a switch's uplink) runs its
 * steps one after another. */
static bool queues_behind_module(const struct phase *ph, size_t i) {
  const struct child *c = &ph->kids[i];
  if (!c->plan->module->one_at_a_time || !kiln_plan_step_runs(c->plan))
    return false;
  bool earlier = false;
  for (size_t j = 0; j < i; j++)
    earlier |= ph->kids[j].plan->module == c->plan->module &&
               kiln_plan_step_runs(ph->kids[j].plan);
  return earlier;
}

/* Each step of the phase started now, queued behind its module, or given
 * its staggered start time. */
static void start_phase(struct phase *ph, const struct kiln_plan *plan,
                        size_t first, const struct kiln_runner_options *o,
                        struct kiln_run *run, struct kiln_bus *bus) {
  double now0 = kiln_monotonic_now();
  size_t gpu_rank = 0;
  for (size_t i = 0; i < ph->n; i++) {
    struct child *c = &ph->kids[i];
    c->plan = &plan->steps[first + i];
    c->res = &run->steps[first + i];
    c->fd = -1;
    if (queues_behind_module(ph, i)) {
      c->queued = true;
      c->start_at = INFINITY;
      ph->waiting++;
      continue;
    }
    /* GPUs start `stagger` seconds apart, so a PSU is not hit by all at
     * once. */
    if (o->stagger > 0 && c->plan->module->targets == KILN_TARGETS_GPU &&
        kiln_plan_step_runs(c->plan) && gpu_rank++ > 0) {
      c->start_at = now0 + o->stagger * (double)(gpu_rank - 1);
      ph->waiting++;
      continue;
    }
    ph->alive += start_child(c, run, bus);
  }
}

/* Starts the waiting steps whose time has come, whose module is free, or
 * (on a stop) all of them, to end them. */
static void start_due(struct phase *ph, struct kiln_run *run,
                      struct kiln_bus *bus) {
  struct child *kids = ph->kids;
  for (size_t i = 0; i < ph->n && ph->waiting > 0; i++)
    if (kids[i].start_at > 0 &&
        (stop_signal || kiln_monotonic_now() >= kids[i].start_at ||
         (kids[i].queued && !module_busy(kids, ph->n, kids[i].plan->module)))) {
      ph->waiting--;
      kids[i].queued = false;
      ph->alive += start_child(&kids[i], run, bus);
    }
}

/* Waits up to POLL_MS for a signal or a child's events (pfd: room for
 * every child and the signal pipe); false when poll itself fails. */
static bool wait_for_events(const struct phase *ph, struct pollfd *pfd) {
  size_t np = 0;
  pfd[np++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
  for (size_t i = 0; i < ph->n; i++)
    if (ph->kids[i].fd >= 0)
      pfd[np++] = (struct pollfd){.fd = ph->kids[i].fd, .events = POLLIN};
  /* 250 ms bounds watchdog latency; events wake it sooner. */
  return poll(pfd, np, POLL_MS) >= 0 || errno == EINTR;
}

/* Each started child: killed when its SIGTERM grace is over, judged by
 * the watchdog, and finished once it has exited. */
static void reap_ended(struct phase *ph, const struct kiln_runner_options *o,
                       struct kiln_run *run, struct kiln_bus *bus) {
  double now = kiln_monotonic_now();
  for (size_t i = 0; i < ph->n; i++) {
    struct child *c = &ph->kids[i];
    if (c->reaped || c->start_at > 0) /* ended, or not started yet */
      continue;
    if (c->kill_at > 0 && now >= c->kill_at) {
      kill_child(c, SIGKILL);
      c->kill_at = 0;
    }
    watchdog(c, o);
    /* Look without reaping, so the group id cannot be reused before
     * any helpers left in the child's process group are killed. */
    siginfo_t info = {0};
    if (waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == c->pid) {
      kill(-c->pid, SIGKILL);
      waitpid(c->pid, &c->status, 0);
      if (c->fd >= 0)
        read_events(c, run, bus);
      c->reaped = true;
      ph->alive--;
      finish(c, run, bus);
    }
  }
}

/* Runs one phase's steps at once; returns when all have ended. */
static void run_phase(const struct kiln_plan *plan, size_t first, size_t last,
                      const struct kiln_runner_options *o, struct kiln_run *run,
                      struct kiln_bus *bus) {
  struct phase ph = {.n = last - first};
  ph.kids = kiln_xcalloc(ph.n, sizeof *ph.kids);
  start_phase(&ph, plan, first, o, run, bus);
  bool aborting = false;
  struct pollfd *pfd = kiln_xcalloc(ph.n + 1, sizeof *pfd);
  double last_turn = kiln_monotonic_now();
  while (ph.alive > 0 || ph.waiting > 0) {
    start_due(&ph, run, bus);
    if (stop_signal && !aborting) {
      aborting = true;
      abort_running(ph.kids, ph.n, stop_signal);
    }
    if (!wait_for_events(&ph, pfd))
      break;
    double turn = kiln_monotonic_now();
    if (turn - last_turn > PARENT_STALL)
      skip_stall(ph.kids, ph.n, turn - last_turn - POLL_MS / 1000.0);
    last_turn = turn;
    drain_signal_pipe();
    if (o->tick)
      o->tick(o->tick_ctx);
    for (size_t i = 0; i < ph.n; i++)
      if (ph.kids[i].fd >= 0)
        read_events(&ph.kids[i], run, bus);
    reap_ended(&ph, o, run, bus);
  }
  for (size_t i = 0; i < ph.n; i++)
    free_child(&ph.kids[i]);
  free(ph.kids);
  free(pfd);
}

void kiln_runner_run(const struct kiln_plan *plan,
                     const struct kiln_runner_options *o, struct kiln_run *run,
                     struct kiln_bus *bus) {
  install_handlers();
  size_t i = 0;
  while (i < plan->n_steps) {
    size_t j = i;
    while (j < plan->n_steps && plan->steps[j].phase == plan->steps[i].phase)
      j++;
    if (plan->steps[i].module->targets != KILN_TARGETS_MONITOR)
      run_phase(plan, i, j, o, run, bus);
    i = j;
  }
  if (stop_signal && !run->abort_reason)
    run->abort_reason = kiln_xstrdup(stop_text(stop_signal));
}
