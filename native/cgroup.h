#pragma once

#include <napi.h>

namespace cs {
Napi::Value CgroupPathById(const Napi::CallbackInfo& info);
}
