// Private to the SDK (included by the client headers): completing a call whose answer could
// not be read because of an exception, in practice std::bad_alloc.
#pragma once

#include <fedora/error.hpp>

#include <exception>
#include <string>

namespace fedora::detail {

// An exception while the SDK reads an answer inside a completion handler: the call
// completes with errc::server_error and "internal failure: <what>" instead of the exception
// leaving io_context::run() and the caller's handler being lost. Never throws.
inline error_code internal_failure(diagnostics& d, const std::exception& e) noexcept
{
    try {
        d.message = std::string("internal failure: ") + e.what();
    } catch (...) {
        d.message.clear();
    }
    return make_error_code(errc::server_error);
}

} // namespace fedora::detail
