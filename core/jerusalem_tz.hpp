#pragma once

// Asia/Jerusalem as a cctz zone, for core/*.cpp only (public headers stay
// free of cctz): loaded once from the system tzdata; a fixed UTC+2 if the
// tzdata package is missing. Defined in core/israel_time.cpp.

#include <cctz/time_zone.h>

namespace al {

const cctz::time_zone& jerusalem_tz();

} // namespace al
