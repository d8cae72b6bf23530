// /api/crm/*: leads, notes, calls (+ audio), appointments, pipeline, tasks,
// the token's business. Thin handlers: parse and validate the request with
// core/crm_input.hpp, call one use case (domain/leads, appointments,
// pipeline, tasks, call_records, business) for the principal's business,
// render its reply. Roles are checked by require() (transport/auth.cpp)
// before anything else.
#include "transport/handlers/handlers.hpp"

#include "core/business_input.hpp"
#include "core/crm_input.hpp"
#include "core/form.hpp"
#include "core/http_range.hpp"
#include "domain/appointments.hpp"
#include "domain/business.hpp"
#include "domain/call_records.hpp"
#include "domain/leads.hpp"
#include "domain/pipeline.hpp"
#include "domain/tasks.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <memory>

namespace al {

namespace {

// -- audio
// ---------------------------------------------------------------------

/// The answer for stored audio (core/http_range.hpp): 200 with the whole
/// body, 206 with the part read, 416 when the range lies past the end.
http_response audio_response(domain::call_records::audio_result a) {
  if (!a.status.ok())
    return error_response(a.status);
  if (a.what == range_request::kind::unsatisfiable) {
    auto res = error_response(http::status::range_not_satisfiable,
                              "Range not satisfiable");
    res.set(http::field::content_range, unsatisfied_range(a.total_bytes));
    res.set(http::field::accept_ranges, "bytes");
    return res;
  }
  bool partial = a.what == range_request::kind::partial;
  auto res = make_response(partial ? http::status::partial_content
                                   : http::status::ok,
                           std::move(a.body), a.content_type);
  if (partial)
    res.set(http::field::content_range, content_range(a.range, a.total_bytes));
  res.set(http::field::accept_ranges, "bytes");
  res.set(http::field::cache_control, "private, max-age=3600");
  return res;
}

/// The byte range a GET for audio asks for: empty (the whole body) when
/// If-Range names a validator these answers never give.
std::string audio_range(const request& req) {
  if (!req.header(http::field::if_range).empty())
    return {};
  return std::string{req.header(http::field::range)};
}

/// Renders stored audio on the session's I/O thread (the body is moved,
/// not copied, on its way there).
domain::call_records::audio_fn render_audio(const request_ptr& req,
                                            const responder& res) {
  return [req, res](domain::call_records::audio_result a) {
    post_to_session(*req, [res, a = std::move(a)]() mutable {
      res(audio_response(std::move(a)));
    });
  };
}

// -- route groups ------------------------------------------------------------

void add_lead_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/leads",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto f = query_parsed<lead_filter>(*req, res,
                                                     parse_lead_filter);
                  if (!f)
                    return;
                  domain::leads::list(svc.db, scope_of(p, p.business_id), *f,
                                      render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/leads",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  lead_input in;
                  if (auto err = parse_lead(b->obj, in, true); !err.empty())
                    return bad_request(res, err);
                  domain::leads::create(svc.db, scope_of(p, b->business),
                                        p.actor(), in, render(req, res));
                }));

  r.add(http::verb::get, "/api/crm/leads/{id}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  domain::leads::get(svc.db, scope_of(p, p.business_id), *id,
                                     render(req, res));
                }));

  r.add(http::verb::patch, "/api/crm/leads/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  lead_input in;
                  if (auto err = parse_lead(b->obj, in, false); !err.empty())
                    return bad_request(res, err);
                  domain::leads::update(svc.db, scope_of(p, b->business), *id,
                                        p.actor(), in, render(req, res));
                }));

  r.add(http::verb::delete_, "/api/crm/leads/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  domain::leads::remove(svc.db, scope_of(p, p.business_id),
                                        audit_actor(p, *req), *id,
                                        render(req, res));
                }));

  r.add(http::verb::get, "/api/crm/leads/{id}/notes",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  auto q = id ? query_of(*req, res) : std::nullopt;
                  if (!q)
                    return;
                  page_params pg;
                  if (auto err = parse_paging(*q, pg); !err.empty())
                    return bad_request(res, err);
                  domain::leads::list_notes(svc.db, scope_of(p, p.business_id),
                                            *id, pg, render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/leads/{id}/notes",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  std::string text;
                  if (auto err = parse_note(b->obj, text); !err.empty())
                    return bad_request(res, err);
                  domain::leads::add_note(svc.db, scope_of(p, b->business), *id,
                                          p.actor(), std::move(text),
                                          render(req, res));
                }));
}

void add_call_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/calls",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto f = query_parsed<call_filter>(*req, res,
                                                     parse_call_filter);
                  if (!f)
                    return;
                  domain::call_records::list(svc.db, scope_of(p, p.business_id),
                                             *f, render(req, res));
                }));

  r.add(http::verb::get, "/api/crm/calls/{sid}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto& sid = req->path_params.at(0);
                  if (!valid_call_sid(sid))
                    return res(
                      error_response(http::status::not_found, "No such call"));
                  domain::call_records::get(svc.db, scope_of(p, p.business_id),
                                            sid, render(req, res));
                }));

  r.add(
    http::verb::get, "/api/crm/calls/{sid}/segments/{seq}",
    require(
      svc, access::read, [&svc](request_ptr req, responder res, principal p) {
        auto& sid = req->path_params.at(0);
        auto seq = parse_decimal(req->path_params.at(1), 0, 2147483647);
        if (!valid_call_sid(sid) || !seq)
          return res(error_response(http::status::not_found, "No such audio"));
        domain::call_records::segment_audio(svc.db, scope_of(p, p.business_id),
                                            sid, *seq, audio_range(*req),
                                            render_audio(req, res));
      }));

  r.add(http::verb::get, "/api/crm/calls/{sid}/recording",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto& sid = req->path_params.at(0);
                  if (!valid_call_sid(sid))
                    return res(
                      error_response(http::status::not_found, "No such audio"));
                  domain::call_records::recording_audio(
                    svc.db, scope_of(p, p.business_id), sid, audio_range(*req),
                    render_audio(req, res));
                }));
}

void add_appointment_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/appointments",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto f = query_parsed<appointment_filter>(
                    *req, res, parse_appointment_filter);
                  if (!f)
                    return;
                  domain::appointments::list(svc.db, scope_of(p, p.business_id),
                                             *f, render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/appointments",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  appointment_input in;
                  if (auto err = parse_appointment(b->obj, in, true);
                      !err.empty())
                    return bad_request(res, err);
                  domain::appointments::create(svc.db, scope_of(p, b->business),
                                               in, render(req, res));
                }));

  r.add(http::verb::patch, "/api/crm/appointments/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "appointment");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  appointment_input in;
                  if (auto err = parse_appointment(b->obj, in, false);
                      !err.empty())
                    return bad_request(res, err);
                  domain::appointments::update(svc.db, scope_of(p, b->business),
                                               *id, in, render(req, res));
                }));
}

void add_pipeline_and_task_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/pipeline",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  domain::pipeline::get(svc.db, scope_of(p, p.business_id),
                                        render(req, res));
                }));

  r.add(http::verb::put, "/api/crm/pipeline",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  std::vector<pipeline_status> statuses;
                  if (auto err = parse_pipeline(b->obj, statuses); !err.empty())
                    return bad_request(res, err);
                  domain::pipeline::put(svc.db, scope_of(p, b->business),
                                        audit_actor(p, *req),
                                        std::move(statuses), render(req, res));
                }));

  r.add(http::verb::get, "/api/crm/tasks",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto f = query_parsed<task_filter>(*req, res,
                                                     parse_task_filter);
                  if (!f)
                    return;
                  domain::tasks::list(svc.db, scope_of(p, p.business_id), *f,
                                      render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/tasks",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  task_input in;
                  if (auto err = parse_task(b->obj, in, true); !err.empty())
                    return bad_request(res, err);
                  domain::tasks::create(svc.db, scope_of(p, b->business), in,
                                        render(req, res));
                }));

  r.add(http::verb::patch, "/api/crm/tasks/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "task");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  task_input in;
                  if (auto err = parse_task(b->obj, in, false); !err.empty())
                    return bad_request(res, err);
                  domain::tasks::update(svc.db, scope_of(p, b->business), *id,
                                        in, render(req, res));
                }));
}

/// The business an upload acts for: the token's, or ?business_id= for the
/// administrator.
std::optional<std::int64_t>
query_business(const request& req, const responder& res, const principal& p) {
  auto q = query_of(req, res);
  if (!q)
    return std::nullopt;
  std::optional<std::int64_t> named;
  if (auto v = q->value_or("business_id"); !v.empty()) {
    std::int64_t id = 0;
    for (char c : v) {
      if (c < '0' || c > '9' || id > 1'000'000'000'000LL) {
        bad_request(res, "business_id must be a positive integer");
        return std::nullopt;
      }
      id = id * 10 + (c - '0');
    }
    named = id;
  }
  return effective_business(p, named);
}

void add_greeting_audio_routes(router& r, services& svc) {
  // PUT: the body is the recording (WAV, MP3, OGG, FLAC...; up to 5 MiB,
  // 60 s), played to callers from then on as 8 kHz mu-law.
  r.add(http::verb::put, "/api/crm/settings/greeting-audio",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto business = query_business(*req, res, p);
                  if (!business)
                    return;
                  if (req->body().empty())
                    return bad_request(res, "the body must be an audio file");
                  domain::business::set_greeting_audio(svc.db, *business,
                                                       audit_actor(p, *req),
                                                       req->body(),
                                                       render(req, res));
                }));

  r.add(http::verb::delete_, "/api/crm/settings/greeting-audio",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto business = query_business(*req, res, p);
                  if (!business)
                    return;
                  domain::business::clear_greeting_audio(
                    svc.db, *business, audit_actor(p, *req), render(req, res));
                }));
}

void add_business_routes(router& r, services& svc) {
  add_greeting_audio_routes(r, svc);

  // The business's audit trail: owners and the administrator.
  r.add(
    http::verb::get, "/api/crm/audit",
    require(
      svc, access::manage, [&svc](request_ptr req, responder res, principal p) {
        auto q = query_of(*req, res);
        if (!q)
          return;
        page_params paging;
        if (auto err = parse_paging(*q, paging); !err.empty())
          return bad_request(res, err);
        std::optional<std::string> action;
        if (auto v = q->value_or("action"); !v.empty()) {
          bool ok = v.size() <= 64;
          for (char c : v)
            ok = ok && ((c >= 'a' && c <= 'z') || c == '.' || c == '_');
          if (!ok)
            return bad_request(res,
                               "action must be an action name like lead.delete"
                               " (or a prefix ending in '.')");
          action = v;
        }
        domain::business::audit(svc.db, scope_of(p, p.business_id),
                                std::move(action), paging, render(req, res));
      }));
  for (auto path : {"/api/crm/business", "/api/crm/settings"})
    r.add(http::verb::get, path,
          require(svc, access::read,
                  [&svc](request_ptr req, responder res, principal p) {
                    domain::business::get(svc.db, scope_of(p, p.business_id),
                                          render(req, res));
                  }));

  for (auto path : {"/api/crm/business", "/api/crm/settings"})
    r.add(http::verb::patch, path,
          require(
            svc, access::manage,
            [&svc](request_ptr req, responder res, principal p) {
              auto b = body_of(*req, res, p);
              if (!b)
                return;
              business_input in;
              if (auto err = parse_business(b->obj, in, false); !err.empty())
                return bad_request(res, err);
              if (auto f = admin_only_field(in); !f.empty() && !p.is_admin())
                return res(error_response(
                  http::status::forbidden,
                  f + " may only be changed by the administrator"));
              auto done = render(req, res);
              if (in.greeting || in.voice || in.voice_engine)
                done = [show = done, &svc, bid = b->business](domain_reply r) {
                  if (r.code == domain_code::ok)
                    warm_greeting(svc, bid);
                  show(std::move(r));
                };
              domain::business::patch(svc.db, scope_of(p, b->business),
                                      audit_actor(p, *req), in,
                                      std::move(done));
            }));
}

/// GET /api/crm/leads/{id}/messages (the WhatsApp paths write them).
void add_message_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/leads/{id}/messages",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  auto q = id ? query_of(*req, res) : std::nullopt;
                  if (!q)
                    return;
                  page_params pg;
                  if (auto err = parse_paging(*q, pg); !err.empty())
                    return bad_request(res, err);
                  domain::leads::list_messages(svc.db,
                                               scope_of(p, p.business_id), *id,
                                               pg, render(req, res));
                }));
}

} // namespace

void add_crm_routes(router& r, services& svc) {
  add_lead_routes(r, svc);
  add_call_routes(r, svc);
  add_appointment_routes(r, svc);
  add_pipeline_and_task_routes(r, svc);
  add_business_routes(r, svc);
  add_message_routes(r, svc);
}

} // namespace al
