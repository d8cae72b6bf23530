// The campaign engine.
//
// campaign_manager (one per instance):
//
//   every scan tick, or a wake for a campaign it does not run:
//     take_campaign_leases --ids--> (spawn_atom, spec) to its supervisor
//   a wake for a campaign it runs: forwarded to that campaign's actor
//
// campaign actor (one per running campaign leased here):
//
//   idle --tick / wake--> ticking (one store job: renew the lease, expire
//    ^                      dead dials, claim due rows inside hours, or
//    |                      complete the campaign)
//    |                        |
//    +-------- dials placed --+--> gone / paused / completed: let go, quit
//
// One store job at a time: a wake while ticking only marks `again`. Dials
// report back as messages; a dial that could not be placed is recorded as
// 'failed' and frees its slot at once (another tick).

#include "actors/campaign.hpp"

#include "actors/campaign_store.hpp"
#include "actors/job_protocols.hpp"
#include "actors/log.hpp"
#include "actors/manager.hpp"
#include "actors/metrics.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "core/israel_time.hpp"
#include "core/working_hours.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

namespace al {
namespace {

using options_ptr = std::shared_ptr<const campaign_engine_options>;
using stats_ptr = std::shared_ptr<campaign_engine_stats>;

void count(const campaign_engine_options& o, const char* result, double n) {
  if (o.m && n > 0)
    o.m->campaign_dials.Add({{"result", result}}).Increment(n);
}

// -- the campaign actor ------------------------------------------------------

struct campaign_state {
  options_ptr opts;
  stats_ptr stats;
  std::int64_t id = 0;
  std::int64_t business = 0;
  bool ticking = false;
  bool again = false;
  bool db_failing = false;
  static inline const char* name = "campaign";
};

using campaign_self = campaign_actor::stateful_pointer<campaign_state>;

/// True when the business is open at `now` (working hours, and not a
/// holiday closure unless closures are off).
bool open_at(const campaign_engine_options& o, const std::string& hours,
             std::time_t now) {
  if (!within_working_hours(hours, now))
    return false;
  return !o.holiday_closures || !is_closure(israel_at(now).date);
}

/// One store job: renew, expire, claim (or complete).
void tick(campaign_self self) {
  auto& st = self->state;
  if (st.ticking) {
    st.again = true;
    return;
  }
  st.ticking = true;
  st.again = false;
  ++st.stats->ticks;
  auto out = std::make_shared<campaign_ticked>();
  auto me = caf::actor_cast<campaign_actor>(self);
  st.opts->db.run(
    [out, opts = st.opts, stats = st.stats, id = st.id](db_tx& tx) {
      auto& o = *opts;
      auto s = renew_campaign_lease(tx, id, o.instance, o.campaign_lease);
      if (!s) {
        out->stop = true;
        out->why = "leased elsewhere or gone";
        return;
      }
      out->settings = *s;
      if (s->state != "running") {
        release_campaign_lease(tx, id, o.instance);
        out->stop = true;
        out->why = s->state;
        return;
      }
      auto expired = expire_dial_leases(tx, *s);
      stats->expired += expired;
      count(o, "expired", expired);
      auto now = o.clock ? o.clock() : std::time(nullptr);
      out->claim = claim_result{};
      if (open_at(o, s->working_hours, now)) {
        *out->claim = claim_due_leads(tx, *s, o.instance, o.dial_lease,
                                      o.global_cap);
      } else {
        ++stats->closed_ticks;
      }
      if (out->claim->claimed.empty() && complete_if_done(tx, *s)) {
        ++stats->completed;
        out->stop = true;
        out->why = "completed";
      }
    },
    [me, out](const db_error& err) {
      out->error = err;
      caf::anon_send(me, std::move(*out));
    });
}

/// Places one claimed dial.
void dial(campaign_self self, const campaign_settings& c, claimed_lead row) {
  auto& st = self->state;
  auto me = caf::actor_cast<campaign_actor>(self);
  outbound_dial d;
  d.business_id = c.business_id;
  d.campaign_id = c.id;
  d.campaign_lead_id = row.id;
  d.lead_id = row.lead_id;
  d.to = row.phone;
  if (!st.opts->dial) {
    campaign_dialed none;
    none.row = std::move(row);
    none.error = "dialing is not configured";
    caf::anon_send(me, std::move(none));
    return;
  }
  st.opts->dial(std::move(d), [me, row](outbound_dial_result res) {
    caf::anon_send(me, campaign_dialed{row, res.ok, std::move(res.call_sid),
                                       std::move(res.error), res.retryable});
  });
}

void on_ticked(campaign_self self, campaign_ticked& t) {
  auto& st = self->state;
  st.ticking = false;
  if (!t.error.empty()) {
    if (!st.db_failing)
      log_safe(spdlog::level::warn, "campaign {}: tick failed: {}", st.id,
               first_line(t.error));
    st.db_failing = true;
    return; // the next timer tick tries again
  }
  st.db_failing = false;
  if (t.settings)
    st.business = t.settings->business_id;
  if (t.claim) {
    auto& c = *t.claim;
    count(*st.opts, "opted_out", c.opted_out);
    count(*st.opts, "claimed", static_cast<double>(c.claimed.size()));
    st.stats->claimed += static_cast<long>(c.claimed.size());
    for (auto& row : c.claimed) {
      if (row.since_lead_s && st.opts->m && t.settings->kind == "speed_to_lead")
        st.opts->m->speed_to_lead.Observe(*row.since_lead_s);
      dial(self, *t.settings, std::move(row));
    }
  }
  if (t.stop) {
    log_safe(spdlog::level::info, "campaign {}: actor ends ({})", st.id, t.why);
    self->quit();
    return;
  }
  if (st.again)
    tick(self);
}

void on_dialed(campaign_self self, campaign_dialed& d) {
  auto& st = self->state;
  if (d.ok)
    return; // the webhooks move the row on, and wake us when it ends
  if (d.error == "opted_out") {
    // The dial helper found the number on the list and set the row.
    count(*st.opts, "opted_out", 1);
    return tick(self);
  }
  ++st.stats->dial_failures;
  count(*st.opts, "failed", 1);
  log_safe(spdlog::level::info,
           "campaign {}: dial of campaign lead {} not placed: {}", st.id,
           d.row.id, first_line(d.error));
  auto me = caf::actor_cast<campaign_actor>(self);
  st.opts->db.run(
    [opts = st.opts, row = d.row, error = d.error,
     retryable = d.retryable](db_tx& tx) {
      fail_dial(tx, row.id, opts->instance, row.attempt, error, retryable);
    },
    [me](const db_error&) {
      // Not written: the dial lease runs out and expires it as failed.
      caf::anon_send(me, finished_atom_v);
    });
}

campaign_actor::behavior_type
campaign_behavior(campaign_self self, options_ptr opts, stats_ptr stats,
                  std::int64_t id) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.stats = std::move(stats);
  st.id = id;
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) {
      tick(self);
      self->delayed_send(self, self->state.opts->tick, tick_atom_v);
    },
    [self](wake_atom) { tick(self); },
    [self](campaign_ticked& t) { on_ticked(self, t); },
    [self](campaign_dialed& d) { on_dialed(self, d); },
    [self](finished_atom) { tick(self); },
  };
}

// -- the manager -------------------------------------------------------------

struct manager_state {
  options_ptr opts;
  stats_ptr stats;
  /// The campaign actors' manager: (spawn_atom, campaign id).
  manager_actor<std::int64_t> sup;
  bool scanning = false;
  bool again = false;
  bool db_failing = false;
  int waker = 0;
  static inline const char* name = "campaign_manager";
};

using manager_self = campaign_manager_actor::stateful_pointer<manager_state>;

std::string child_key(std::int64_t id) {
  return "campaign:" + std::to_string(id);
}

void scan(manager_self self) {
  auto& st = self->state;
  if (st.scanning) {
    st.again = true;
    return;
  }
  st.scanning = true;
  st.again = false;
  ++st.stats->scans;
  auto out = std::make_shared<campaign_leased>();
  auto me = caf::actor_cast<campaign_manager_actor>(self);
  st.opts->db.run(
    [out, opts = st.opts](db_tx& tx) {
      out->ids = take_campaign_leases(tx, opts->instance, opts->campaign_lease,
                                      opts->scan_limit);
    },
    [me, out](const db_error& err) {
      out->error = err;
      caf::anon_send(me, std::move(*out));
    });
}

void on_leased(manager_self self, campaign_leased& l) {
  auto& st = self->state;
  st.scanning = false;
  if (!l.error.empty()) {
    if (!st.db_failing)
      log_safe(spdlog::level::warn, "campaign manager: scan failed: {}",
               first_line(l.error));
    st.db_failing = true;
  } else {
    st.db_failing = false;
    for (auto id : l.ids) {
      // Starts the actor, or finds the one already running it.
      self->request(st.sup, std::chrono::seconds(5), spawn_atom_v, id)
        .then([](const caf::actor&) {},
              [id](const caf::error& err) {
                log_safe(spdlog::level::warn,
                         "campaign manager: campaign {} not started: {}", id,
                         caf::to_string(err));
              });
    }
  }
  if (st.again)
    scan(self);
}

/// A wake for `id`: its actor here ticks now; no actor here → scan (a new
/// speed-to-lead campaign, or one this instance may take).
void poke(manager_self self, std::int64_t id) {
  auto& st = self->state;
  self->request(st.sup, std::chrono::seconds(2), lookup_atom_v, child_key(id))
    .then(
      [self](const caf::actor& child) {
        if (child)
          caf::anon_send(caf::actor_cast<campaign_actor>(child), wake_atom_v);
        else
          scan(self);
      },
      [self, id](const caf::error& err) {
        log_safe(spdlog::level::debug, "campaign manager: wake {} lost: {}", id,
                 caf::to_string(err));
      });
}

campaign_manager_actor::behavior_type
manager_behavior(manager_self self, options_ptr opts, stats_ptr stats) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.stats = std::move(stats);
  // The supervisor keeps a reference to its stats: one object for every
  // manager of the process (restarts, several apps in one test process).
  static supervision_stats sup_stats{"campaign"};
  st.sup = spawn_manager<std::int64_t>(
    self->system(), sup_stats, st.opts->m,
    [opts = st.opts, stats = st.stats](std::int64_t& id) {
      child_spec spec;
      spec.key = child_key(id);
      spec.spawn = [opts, stats, id](caf::actor_system& sys) {
        return caf::actor_cast<caf::actor>(
          sys.spawn(campaign_behavior, opts, stats, id));
      };
      return spec;
    });
  // The campaign actors live and die with their manager.
  self->link_to(st.sup);
  auto addr = self->address();
  st.waker = add_campaign_waker([addr](std::int64_t id) {
    if (auto me = caf::actor_cast<campaign_manager_actor>(addr)) {
      caf::anon_send(me, wake_atom_v, id);
      // Once more after the waking transaction has surely committed.
      caf::delayed_anon_send(me, std::chrono::milliseconds(200), wake_atom_v,
                             id);
    }
  });
  self->attach_functor([h = st.waker] { remove_campaign_waker(h); });
  // Shutdown: the supervisor (and through it every campaign actor) goes
  // first, explicitly, whatever the link would do.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    self->send_exit(self->state.sup, msg.reason);
    self->quit(msg.reason);
  });
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) {
      scan(self);
      self->delayed_send(self, self->state.opts->scan, tick_atom_v);
    },
    [self](campaign_leased& l) { on_leased(self, l); },
    [self](wake_atom, std::int64_t id) { poke(self, id); },
  };
}

} // namespace

child_spec campaign_manager_spec(options_ptr opts, stats_ptr stats) {
  child_spec spec;
  spec.key = "campaigns";
  spec.spawn = [opts, stats](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(
      sys.spawn(manager_behavior, opts, stats));
  };
  return spec;
}

campaign_actor spawn_campaign_actor(caf::actor_system& sys, options_ptr opts,
                                    stats_ptr stats, std::int64_t campaign_id) {
  return sys.spawn(campaign_behavior, std::move(opts), std::move(stats),
                   campaign_id);
}

std::string campaign_instance_id() {
  char host[128] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0)
    host[0] = '\0';
  std::random_device rd;
  std::uniform_int_distribution<unsigned> d{0, 0xFFFFFF};
  char tail[16];
  std::snprintf(tail, sizeof(tail), "%06x", d(rd));
  return std::string{host} + ":" + std::to_string(getpid()) + ":" + tail;
}

} // namespace al
