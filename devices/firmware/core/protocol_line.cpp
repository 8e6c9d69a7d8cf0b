#include "protocol_line.h"

namespace maelstrom {

namespace {

struct Cursor {
  char* at;
  char* end;
};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

void skipSpace(Cursor& c) {
  while (c.at < c.end && (*c.at == ' ' || *c.at == '\t' || *c.at == '\n' || *c.at == '\r')) ++c.at;
}

int8_t hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A string at c.at (which must be '"'), decoded in place; \uXXXX becomes UTF-8 so that two
// strings compare equal exactly when Python's would.
bool parseString(Cursor& c, const char*& start, uint8_t& length) {
  if (c.at >= c.end || *c.at != '"') return false;
  ++c.at;
  char* write = c.at;
  start = write;
  while (c.at < c.end) {
    unsigned char ch = static_cast<unsigned char>(*c.at++);
    if (ch == '"') {
      length = static_cast<uint8_t>(write - start);
      return true;
    }
    if (ch < 0x20) return false;
    if (ch != '\\') {
      *write++ = static_cast<char>(ch);
      continue;
    }
    if (c.at >= c.end) return false;
    char escape = *c.at++;
    switch (escape) {
      case '"': *write++ = '"'; break;
      case '\\': *write++ = '\\'; break;
      case '/': *write++ = '/'; break;
      case 'b': *write++ = '\b'; break;
      case 'f': *write++ = '\f'; break;
      case 'n': *write++ = '\n'; break;
      case 'r': *write++ = '\r'; break;
      case 't': *write++ = '\t'; break;
      case 'u': {
        if (c.end - c.at < 4) return false;
        uint16_t code = 0;
        for (uint8_t i = 0; i < 4; ++i) {
          int8_t digit = hexValue(*c.at++);
          if (digit < 0) return false;
          code = static_cast<uint16_t>(code * 16 + digit);
        }
        if (code < 0x80) {
          *write++ = static_cast<char>(code);
        } else if (code < 0x800) {
          *write++ = static_cast<char>(0xC0 | (code >> 6));
          *write++ = static_cast<char>(0x80 | (code & 0x3F));
        } else {
          *write++ = static_cast<char>(0xE0 | (code >> 12));
          *write++ = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          *write++ = static_cast<char>(0x80 | (code & 0x3F));
        }
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool parseNumber(Cursor& c) {
  char* p = c.at;
  if (p < c.end && *p == '-') ++p;
  if (p >= c.end || !isDigit(*p)) return false;
  if (*p == '0') {
    ++p;
  } else {
    while (p < c.end && isDigit(*p)) ++p;
  }
  if (p < c.end && *p == '.') {
    ++p;
    if (p >= c.end || !isDigit(*p)) return false;
    while (p < c.end && isDigit(*p)) ++p;
  }
  if (p < c.end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < c.end && (*p == '+' || *p == '-')) ++p;
    if (p >= c.end || !isDigit(*p)) return false;
    while (p < c.end && isDigit(*p)) ++p;
  }
  c.at = p;
  return true;
}

bool parseWord(Cursor& c, const char* word) {
  char* p = c.at;
  for (; *word; ++word, ++p) {
    if (p >= c.end || *p != *word) return false;
  }
  c.at = p;
  return true;
}

bool parseValue(Cursor& c, JsonField& field) {
  if (c.at >= c.end) return false;
  char first = *c.at;
  if (first == '"') {
    field.type = JSON_STRING;
    return parseString(c, field.value, field.valueLength);
  }
  if (first == '-' || isDigit(first)) {
    field.type = JSON_NUMBER;
    field.value = c.at;
    if (!parseNumber(c)) return false;
    field.valueLength = static_cast<uint8_t>(c.at - field.value);
    return true;
  }
  field.value = c.at;
  field.valueLength = 0;
  if (parseWord(c, "true")) {
    field.type = JSON_TRUE;
  } else if (parseWord(c, "false")) {
    field.type = JSON_FALSE;
  } else if (parseWord(c, "null")) {
    field.type = JSON_NULL;
  } else {
    return false;  // also an object or an array: not flat
  }
  return true;
}

bool sameBytes(const char* a, uint8_t aLength, const char* b, uint8_t bLength) {
  if (aLength != bLength) return false;
  for (uint8_t i = 0; i < aLength; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

ParseStatus parseFlatObject(char* text, uint16_t length, JsonObject& out) {
  Cursor c = {text, text + length};
  uint16_t pairs = 0;
  out.count = 0;
  skipSpace(c);
  if (c.at >= c.end || *c.at != '{') return PARSE_NOT_FLAT;
  ++c.at;
  skipSpace(c);
  if (c.at < c.end && *c.at == '}') {
    ++c.at;
  } else {
    for (;;) {
      JsonField field;
      skipSpace(c);
      if (!parseString(c, field.key, field.keyLength)) return PARSE_NOT_FLAT;
      skipSpace(c);
      if (c.at >= c.end || *c.at != ':') return PARSE_NOT_FLAT;
      ++c.at;
      skipSpace(c);
      if (!parseValue(c, field)) return PARSE_NOT_FLAT;
      if (pairs < MAX_FIELDS) out.fields[pairs] = field;
      ++pairs;
      skipSpace(c);
      if (c.at < c.end && *c.at == ',') {
        ++c.at;
        continue;
      }
      if (c.at < c.end && *c.at == '}') {
        ++c.at;
        break;
      }
      return PARSE_NOT_FLAT;
    }
  }
  skipSpace(c);
  if (c.at != c.end) return PARSE_NOT_FLAT;
  // Checked only once the whole line is known to be well formed, as Python does.
  if (pairs > MAX_FIELDS) return PARSE_TOO_MANY;
  out.count = static_cast<uint8_t>(pairs);
  for (uint8_t i = 0; i < out.count; ++i) {
    for (uint8_t j = 0; j < i; ++j) {
      const JsonField& a = out.fields[i];
      const JsonField& b = out.fields[j];
      if (sameBytes(a.key, a.keyLength, b.key, b.keyLength)) return PARSE_DUPLICATE;
    }
  }
  return PARSE_OK;
}

bool sameText(const char* text, uint8_t length, FlashText expected) {
  for (uint8_t i = 0; i < length; ++i) {
    if (expected.at(i) != text[i]) return false;
  }
  return expected.at(length) == '\0';
}

const JsonField* JsonObject::find(FlashText key) const {
  for (uint8_t i = 0; i < count; ++i) {
    if (sameText(fields[i].key, fields[i].keyLength, key)) return &fields[i];
  }
  return 0;
}

bool JsonObject::onlyKeys(const FlashText* keys, uint8_t keyCount) const {
  for (uint8_t i = 0; i < count; ++i) {
    bool known = false;
    for (uint8_t k = 0; k < keyCount && !known; ++k) {
      known = sameText(fields[i].key, fields[i].keyLength, keys[k]);
    }
    if (!known) return false;
  }
  return true;
}

int32_t numberToFixed(const char* token, uint8_t length, uint8_t decimals) {
  uint8_t i = 0;
  bool negative = false;
  if (i < length && token[i] == '-') {
    negative = true;
    ++i;
  }
  // The mantissa's digits are token[intStart, intEnd) followed by token[fracStart, fracEnd).
  uint8_t intStart = i;
  while (i < length && isDigit(token[i])) ++i;
  uint8_t intEnd = i;
  uint8_t fracStart = i;
  uint8_t fracEnd = i;
  if (i < length && token[i] == '.') {
    fracStart = ++i;
    while (i < length && isDigit(token[i])) ++i;
    fracEnd = i;
  }
  int32_t exponent = 0;
  if (i < length && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    bool exponentNegative = false;
    if (i < length && (token[i] == '+' || token[i] == '-')) exponentNegative = token[i++] == '-';
    while (i < length && isDigit(token[i])) {
      if (exponent < 100000) exponent = exponent * 10 + (token[i] - '0');
      ++i;
    }
    if (exponentNegative) exponent = -exponent;
  }
  int16_t intDigits = intEnd - intStart;
  int16_t total = intDigits + (fracEnd - fracStart);
  // value = mantissa * 10^shift in units of 10^-decimals
  int32_t shift = exponent - (fracEnd - fracStart) + decimals;
  int16_t first = 0;
  const char* mantissa;
  for (;; ++first) {
    if (first == total) return 0;
    mantissa = first < intDigits ? token + intStart + first : token + fracStart + (first - intDigits);
    if (*mantissa != '0') break;
  }
  int32_t significant = total - first;
  int32_t keep = significant + shift;  // digits before the units position
  int32_t value = 0;
  if (keep > 9) return negative ? -NUMBER_SATURATED : NUMBER_SATURATED;
  for (int16_t k = first; k < total; ++k) {
    int32_t position = k - first;
    char digit = k < intDigits ? token[intStart + k] : token[fracStart + (k - intDigits)];
    if (position < keep) {
      value = value * 10 + (digit - '0');
    } else {
      if (position == keep && digit >= '5') ++value;  // half away from zero
      break;
    }
  }
  for (int32_t k = significant; k < keep; ++k) value *= 10;
  if (value >= NUMBER_SATURATED) value = NUMBER_SATURATED;
  return negative ? -value : value;
}

bool jsonInteger(const JsonField* field, int32_t& out) {
  if (field == 0 || field->type != JSON_NUMBER) return false;
  for (uint8_t i = 0; i < field->valueLength; ++i) {
    char c = field->value[i];
    if (c == '.' || c == 'e' || c == 'E') return false;
  }
  out = numberToFixed(field->value, field->valueLength, 0);
  return true;
}

bool jsonFixed(const JsonField* field, uint8_t decimals, int32_t& out) {
  if (field == 0 || field->type != JSON_NUMBER) return false;
  out = numberToFixed(field->value, field->valueLength, decimals);
  return true;
}

bool jsonBool(const JsonField* field, bool& out) {
  if (field == 0 || (field->type != JSON_TRUE && field->type != JSON_FALSE)) return false;
  out = field->type == JSON_TRUE;
  return true;
}

// -- LineWriter ---------------------------------------------------------------------------------

void LineWriter::put(char c) {
  if (length_ < MAX_LINE) buffer_[length_++] = c;
}

void LineWriter::member() {
  if (!first_) put(',');
  first_ = false;
}

void LineWriter::begin(char letter) {
  length_ = 0;
  first_ = true;
  put(letter);
  put(':');
}

void LineWriter::open() {
  put('{');
  first_ = true;
}

void LineWriter::close() {
  put('}');
  first_ = false;
}

void LineWriter::openArray() {
  put('[');
  first_ = true;
}

void LineWriter::closeArray() {
  put(']');
  first_ = false;
}

void LineWriter::item() { member(); }

void LineWriter::key(FlashText name) {
  member();
  put('"');
  text(name);
  put('"');
  put(':');
}

void LineWriter::slotKey(uint8_t slot) {
  member();
  put('"');
  digits(slot, 1);
  put('"');
  put(':');
}

void LineWriter::digits(uint32_t value, uint8_t minimum) {
  char reversed[10];
  uint8_t count = 0;
  do {
    reversed[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 || count < minimum);
  while (count > 0) put(reversed[--count]);
}

void LineWriter::integer(int32_t value) { number(value); }

void LineWriter::number(int32_t value) {
  uint32_t magnitude = static_cast<uint32_t>(value);
  if (value < 0) {
    put('-');
    magnitude = 0u - magnitude;
  }
  digits(magnitude, 1);
}

void LineWriter::boolean(bool value) {
  const char* word = value ? "true" : "false";
  while (*word) put(*word++);
}

void LineWriter::null() {
  put('n');
  put('u');
  put('l');
  put('l');
}

void LineWriter::fixed(int32_t value, uint8_t decimals) {
  uint32_t magnitude = static_cast<uint32_t>(value);
  if (value < 0) {
    put('-');
    magnitude = 0u - magnitude;
  }
  uint32_t scale = 1;
  for (uint8_t i = 0; i < decimals; ++i) scale *= 10;
  digits(magnitude / scale, 1);
  if (decimals > 0) {
    put('.');
    digits(magnitude % scale, decimals);
  }
}

void LineWriter::string(FlashText value) {
  beginString();
  text(value);
  endString();
}

void LineWriter::stringRaw(const char* value, uint8_t length) {
  put('"');
  for (uint8_t i = 0; i < length; ++i) put(value[i]);
  put('"');
}

void LineWriter::beginString() { put('"'); }

void LineWriter::text(FlashText value) {
  for (uint16_t i = 0;; ++i) {
    char c = value.at(i);
    if (c == '\0') break;
    put(c);
  }
}

void LineWriter::endString() { put('"'); }

void LineWriter::finish() { buffer_[length_++] = '\n'; }

}  // namespace maelstrom
