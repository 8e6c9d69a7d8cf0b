// Board protocol lines (protocol.md §5): parsing a command body and writing a reply.
//
// A command body is a flat JSON object: string, number, true, false or null values, no
// nesting. The parser works in place in the received line (escapes are decoded into it), so
// it needs no memory beyond a fixed table of fields. It accepts exactly what Python's
// json.loads accepts for such objects; the host tests feed both the same lines.
#ifndef MAELSTROM_PROTOCOL_LINE_H
#define MAELSTROM_PROTOCOL_LINE_H

#include <stdint.h>

#include "flash_text.h"

namespace maelstrom {

const uint16_t MAX_LINE = 256;  // bytes, without the newline
const uint8_t MAX_FIELDS = 16;  // keys in one command body
const int32_t NUMBER_SATURATED = 1000000000;  // magnitude given to numbers too large to matter

enum JsonType { JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL };

struct JsonField {
  const char* key;  // decoded, not NUL-terminated
  const char* value;  // decoded string, or the number's text
  uint8_t keyLength;
  uint8_t valueLength;
  uint8_t type;  // JsonType
};

enum ParseStatus { PARSE_OK, PARSE_NOT_FLAT, PARSE_DUPLICATE, PARSE_TOO_MANY };

struct JsonObject {
  JsonField fields[MAX_FIELDS];
  uint8_t count;

  const JsonField* find(FlashText key) const;
  // True when every key is one of `keys` (an array of `count` texts).
  bool onlyKeys(const FlashText* keys, uint8_t keyCount) const;
};

// Parses `text` (modified: strings are decoded in place) into `out`.
ParseStatus parseFlatObject(char* text, uint16_t length, JsonObject& out);

bool sameText(const char* text, uint8_t length, FlashText expected);

// A JSON number token as an integer count of 10^-decimals, rounded half away from zero;
// magnitudes of NUMBER_SATURATED or more become ±NUMBER_SATURATED.
int32_t numberToFixed(const char* token, uint8_t length, uint8_t decimals);

// Field readers: false when the field is missing or not of that kind.
bool jsonInteger(const JsonField* field, int32_t& out);  // no fraction, no exponent
bool jsonFixed(const JsonField* field, uint8_t decimals, int32_t& out);  // any number
bool jsonBool(const JsonField* field, bool& out);

// Writes one reply line: begin('T'), then objects, keys and values, then finish().
class LineWriter {
 public:
  LineWriter() : length_(0), first_(true) {}

  void begin(char letter);
  void open();
  void close();
  void openArray();
  void closeArray();
  void key(FlashText name);
  void slotKey(uint8_t slot);  // "3": for tables keyed by slot
  void item();  // before each array element
  void integer(int32_t value);
  void boolean(bool value);
  void null();
  void fixed(int32_t value, uint8_t decimals);  // 1984, 2 -> 19.84
  void string(FlashText text);
  void stringRaw(const char* text, uint8_t length);  // for text that needs no escaping
  // A string value built from pieces: beginString(), text()/number()..., endString().
  void beginString();
  void text(FlashText text);
  void number(int32_t value);
  void endString();
  void finish();  // appends the newline

  const char* line() const { return buffer_; }
  uint16_t length() const { return length_; }

 private:
  void put(char c);
  void member();
  void digits(uint32_t value, uint8_t minimum);

  char buffer_[MAX_LINE + 2];
  uint16_t length_;
  bool first_;
};

}  // namespace maelstrom

#endif
