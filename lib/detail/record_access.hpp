// Private: making a record from the JSON text of an object (see fedora/record.hpp).
#pragma once

#include <fedora/record.hpp>

#include <string>

namespace fedora::detail {

struct record_access
{
    // `text` must be the text of one JSON object no deeper than 64 levels, as the SDK's own
    // dump reader writes it; it is parsed when the record is first read.
    static record from_text(std::string text);
};

} // namespace fedora::detail
