#pragma once

#include <napi.h>

namespace cs {
Napi::Value Notify(const Napi::CallbackInfo& info);
}
