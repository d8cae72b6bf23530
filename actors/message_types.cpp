#include "actors/message_types.hpp"

#include "actors/call_protocol.hpp"
#include "actors/job_protocols.hpp"
#include "actors/payment_protocol.hpp"
#include "actors/type_ids.hpp"
#include "actors/whatsapp_protocol.hpp"

#include <caf/actor_system_config.hpp>

namespace al {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::al>();
  cfg.add_message_types<caf::id_block::al_call>();
  cfg.add_message_types<caf::id_block::al_payment>();
  cfg.add_message_types<caf::id_block::al_whatsapp>();
  cfg.add_message_types<caf::id_block::al_jobs>();
}

} // namespace al
