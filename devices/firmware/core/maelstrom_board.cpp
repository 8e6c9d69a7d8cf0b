#include "maelstrom_board.h"

namespace maelstrom {

namespace {

// Every word the board sends, in flash. The messages match devices/simulator/firmware.py
// word for word: the scenarios compare them.
MAELSTROM_TEXT(kSlot, "slot");
MAELSTROM_TEXT(kKind, "kind");
MAELSTROM_TEXT(kOn, "on");
MAELSTROM_TEXT(kWhy, "why");
MAELSTROM_TEXT(kHold, "hold_s");
MAELSTROM_TEXT(kS, "s");
MAELSTROM_TEXT(kO, "o");
MAELSTROM_TEXT(kI, "i");
MAELSTROM_TEXT(kOnewire, "onewire");
MAELSTROM_TEXT(kOffset, "offset");
MAELSTROM_TEXT(kPin, "pin");
MAELSTROM_TEXT(kPins, "pins");
MAELSTROM_TEXT(kInvert, "invert");
MAELSTROM_TEXT(kMinOn, "min_on_s");
MAELSTROM_TEXT(kMinOff, "min_off_s");
MAELSTROM_TEXT(kGroup, "group");
MAELSTROM_TEXT(kDead, "dead_s");
MAELSTROM_TEXT(kSensor, "sensor");
MAELSTROM_TEXT(kOutput, "output");
MAELSTROM_TEXT(kInput, "input");
MAELSTROM_TEXT(kNone, "none");
MAELSTROM_TEXT(kReason, "reason");
MAELSTROM_TEXT(kPower, "power");
MAELSTROM_TEXT(kWatchdog, "watchdog");
MAELSTROM_TEXT(kReset, "reset");
MAELSTROM_TEXT(kFw, "fw");
MAELSTROM_TEXT(kMaelstrom, "maelstrom");
MAELSTROM_TEXT(kV, "v");
MAELSTROM_TEXT(kProto, "proto");
MAELSTROM_TEXT(kBoard, "board");
MAELSTROM_TEXT(kUptime, "uptime_s");
MAELSTROM_TEXT(kLevel, "level");
MAELSTROM_TEXT(kMsg, "msg");
MAELSTROM_TEXT(kCode, "code");
MAELSTROM_TEXT(kLevelW, "W");
MAELSTROM_TEXT(kLevelE, "E");
MAELSTROM_TEXT(kWhyMinOn, "min_on");
MAELSTROM_TEXT(kWhyMinOff, "min_off");
MAELSTROM_TEXT(kWhyInterlock, "interlock");
MAELSTROM_TEXT(kWhyDeadTime, "dead_time");
MAELSTROM_TEXT(kUnknownCommand, "unknown_command");
MAELSTROM_TEXT(kBadJson, "bad_json");
MAELSTROM_TEXT(kBadSlot, "bad_slot");
MAELSTROM_TEXT(kBadConfig, "bad_config");
MAELSTROM_TEXT(kMsgTooLong, "line longer than 256 bytes");
MAELSTROM_TEXT(kMsgNotAscii, "not ASCII");
MAELSTROM_TEXT(kMsgNotFlat, "body must be a flat JSON object");
MAELSTROM_TEXT(kMsgDuplicate, "duplicate key");
MAELSTROM_TEXT(kMsgTooMany, "too many keys");
MAELSTROM_TEXT(kMsgUnknown, "unknown command");
MAELSTROM_TEXT(kMsgUnexpected, "unexpected key");
MAELSTROM_TEXT(kMsgSlot, "slot must be an integer 1-8");
MAELSTROM_TEXT(kMsgKind, "kind must be sensor, output, input or none");
MAELSTROM_TEXT(kMsgOnewire, "onewire must be 16 hex digits");
MAELSTROM_TEXT(kMsgOffset, "offset must be a number -5..5");
MAELSTROM_TEXT(kMsgPin, "pin must be one of the board's pins");
MAELSTROM_TEXT(kMsgInvert, "invert must be true or false");
MAELSTROM_TEXT(kMsgMinOn, "min_on_s must be an integer 0-86400");
MAELSTROM_TEXT(kMsgMinOff, "min_off_s must be an integer 0-86400");
MAELSTROM_TEXT(kMsgDead, "dead_s must be an integer 0-86400");
MAELSTROM_TEXT(kMsgGroup, "group must be an integer 0-255");
MAELSTROM_TEXT(kMsgTooManyOutputs, "at most 6 output slots");
MAELSTROM_TEXT(kMsgOn, "on must be true or false");
MAELSTROM_TEXT(kMsgDeadman, "s must be an integer 1-600");
MAELSTROM_TEXT(kMsgSlotWord, "slot ");
MAELSTROM_TEXT(kMsgPinWord, "pin ");
MAELSTROM_TEXT(kMsgUsedBy, " is used by slot ");
MAELSTROM_TEXT(kMsgIsOn, " is on; switch it off first");
MAELSTROM_TEXT(kMsgNotOutput, " is not an output");
MAELSTROM_TEXT(kMsgDeadmanTrip, "dead-man: no command for ");
MAELSTROM_TEXT(kMsgOutputsOff, " s, outputs off");
MAELSTROM_TEXT(kMsgSlotOffIn, "; slot ");
MAELSTROM_TEXT(kMsgOffIn, " off in ");
MAELSTROM_TEXT(kMsgSeconds, " s");
MAELSTROM_TEXT(kMsgConfigDamaged, "stored configuration damaged; all slots cleared");

const char kCommands[] = "nhctowr";
const int32_t MAX_OFFSET_C100 = 500;
const int32_t DEADMAN_MIN_S = 1;
const int32_t DEADMAN_MAX_S = 600;
const int32_t MAX_GROUP = 255;

bool isCommand(char letter) {
  for (const char* c = kCommands; *c; ++c) {
    if (*c == letter) return true;
  }
  return false;
}

uint32_t ceilSeconds(uint32_t ms) { return ms / 1000UL + (ms % 1000UL != 0 ? 1 : 0); }

FlashText whyText(uint8_t why) {
  switch (why) {
    case WHY_MIN_ON: return kWhyMinOn;
    case WHY_MIN_OFF: return kWhyMinOff;
    case WHY_INTERLOCK: return kWhyInterlock;
    default: return kWhyDeadTime;
  }
}

// An optional integer field in [low, high], `fallback` when absent.
bool rangeField(const JsonObject& body, FlashText key, int32_t low, int32_t high, int32_t fallback,
                int32_t& out) {
  const JsonField* field = body.find(key);
  if (field == 0) {
    out = fallback;
    return true;
  }
  return jsonInteger(field, out) && out >= low && out <= high;
}

void put32(uint8_t* at, uint32_t value) {
  for (uint8_t i = 0; i < 4; ++i) at[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint32_t get32(const uint8_t* at) {
  uint32_t value = 0;
  for (uint8_t i = 0; i < 4; ++i) value |= static_cast<uint32_t>(at[i]) << (8 * i);
  return value;
}

}  // namespace

uint8_t crc8(const uint8_t* data, uint16_t length) {
  uint8_t crc = 0;
  for (uint16_t i = 0; i < length; ++i) {
    uint8_t byte = data[i];
    for (uint8_t bit = 0; bit < 8; ++bit) {
      uint8_t mix = (crc ^ byte) & 1;
      crc >>= 1;
      if (mix) crc ^= 0x8C;
      byte >>= 1;
    }
  }
  return crc;
}

Board::Board(const BoardInfo& info, BoardIo& io)
    : info_(info), io_(io), rules_(info.pins, info.pinCount, io), configDamaged_(false) {}

// -- configuration image ------------------------------------------------------------------------

uint16_t Board::exportConfig(uint8_t* data) const {
  for (uint16_t i = 0; i < CONFIG_BYTES; ++i) data[i] = 0;
  data[0] = CONFIG_VERSION;
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    const SlotConfig& config = rules_.slot(n);
    uint8_t* record = data + 1 + (n - 1) * CONFIG_RECORD;
    record[0] = config.kind;
    if (config.kind == KIND_OUTPUT) {
      record[1] = config.output.pin;
      record[2] = config.output.invert ? 1 : 0;
      record[3] = config.output.group;
      put32(record + 4, config.output.minOnS);
      put32(record + 8, config.output.minOffS);
      put32(record + 12, config.output.deadS);
    } else if (config.kind == KIND_INPUT) {
      record[1] = config.input.pin;
      record[2] = config.input.invert ? 1 : 0;
    } else if (config.kind == KIND_SENSOR) {
      for (uint8_t i = 0; i < 8; ++i) record[1 + i] = config.sensor.rom[i];
      record[9] = static_cast<uint8_t>(config.sensor.offsetC100 & 0xFF);
      record[10] = static_cast<uint8_t>((config.sensor.offsetC100 >> 8) & 0xFF);
    }
  }
  data[CONFIG_BYTES - 1] = crc8(data, CONFIG_BYTES - 1);
  return CONFIG_BYTES;
}

LoadResult Board::loadConfig(const uint8_t* data, uint16_t length) {
  bool blank = true;
  for (uint16_t i = 0; i < length && blank; ++i) blank = data[i] == 0xFF;
  if (blank) return LOAD_BLANK;
  bool valid = length == CONFIG_BYTES && data[0] == CONFIG_VERSION && crc8(data, CONFIG_BYTES - 1) == data[CONFIG_BYTES - 1];
  for (uint8_t n = 1; n <= MAX_SLOTS && valid; ++n) {
    const uint8_t* record = data + 1 + (n - 1) * CONFIG_RECORD;
    SlotConfig config;
    config.kind = record[0];
    if (config.kind == KIND_OUTPUT) {
      config.output.pin = record[1];
      config.output.invert = record[2] != 0;
      config.output.group = record[3];
      config.output.minOnS = get32(record + 4);
      config.output.minOffS = get32(record + 8);
      config.output.deadS = get32(record + 12);
      valid = rules_.isBoardPin(config.output.pin) && config.output.minOnS <= MAX_TIME_S &&
              config.output.minOffS <= MAX_TIME_S && config.output.deadS <= MAX_TIME_S;
    } else if (config.kind == KIND_INPUT) {
      config.input.pin = record[1];
      config.input.invert = record[2] != 0;
      valid = rules_.isBoardPin(config.input.pin);
    } else if (config.kind == KIND_SENSOR) {
      for (uint8_t i = 0; i < 8; ++i) config.sensor.rom[i] = record[1 + i];
      config.sensor.offsetC100 = static_cast<int16_t>(record[9] | (record[10] << 8));
      valid = config.sensor.offsetC100 >= -MAX_OFFSET_C100 && config.sensor.offsetC100 <= MAX_OFFSET_C100;
    } else {
      valid = config.kind == KIND_NONE;
    }
    uint8_t other = 0;
    valid = valid && rules_.configure(n, config, other) == CONFIG_OK;
  }
  if (!valid) {
    SlotConfig none;
    none.kind = KIND_NONE;
    uint8_t other = 0;
    for (uint8_t n = 1; n <= MAX_SLOTS; ++n) rules_.configure(n, none, other);
    configDamaged_ = true;
    return LOAD_INVALID;
  }
  return LOAD_OK;
}

// -- the board's life ---------------------------------------------------------------------------

void Board::boot(uint32_t now, BootReason reason) {
  rules_.boot(now);
  out_.begin('B');
  out_.open();
  out_.key(kReason);
  out_.string(reason == BOOT_WATCHDOG ? kWatchdog : reason == BOOT_RESET ? kReset : kPower);
  out_.close();
  send();
  if (configDamaged_) {
    out_.begin('D');
    out_.open();
    out_.key(kLevel);
    out_.string(kLevelE);
    out_.key(kMsg);
    out_.string(kMsgConfigDamaged);
    out_.close();
    send();
    configDamaged_ = false;
  }
}

void Board::poll(uint32_t now) {
  if (!rules_.tick(now)) return;
  out_.begin('D');
  out_.open();
  out_.key(kLevel);
  out_.string(kLevelW);
  out_.key(kMsg);
  out_.beginString();
  out_.text(kMsgDeadmanTrip);
  out_.number(rules_.deadmanSeconds());
  out_.text(kMsgOutputsOff);
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    if (!rules_.pendingOff(n)) continue;
    out_.text(kMsgSlotOffIn);
    out_.number(n);
    out_.text(kMsgOffIn);
    out_.number(static_cast<int32_t>(ceilSeconds(rules_.minOnLeft(n, now))));
    out_.text(kMsgSeconds);
  }
  out_.endString();
  out_.close();
  send();
}

void Board::lineTooLong(uint32_t now) {
  poll(now);
  fail(kBadJson, kMsgTooLong);
}

LineResult Board::handleLine(char* line, uint16_t length, uint32_t now) {
  poll(now);
  if (length > 0 && line[length - 1] == '\r') --length;
  if (length == 0) return LINE_DONE;
  if (length > MAX_LINE) {
    fail(kBadJson, kMsgTooLong);
    return LINE_DONE;
  }
  char letter = line[0];
  if (!isCommand(letter)) {
    fail(kUnknownCommand, kMsgUnknown);
    return LINE_DONE;
  }
  for (uint16_t i = 1; i < length; ++i) {
    if (static_cast<unsigned char>(line[i]) > 0x7F) {
      fail(kBadJson, kMsgNotAscii);
      return LINE_DONE;
    }
  }
  JsonObject body;
  body.count = 0;
  if (length > 1) {
    ParseStatus status = parseFlatObject(line + 1, length - 1, body);
    if (status != PARSE_OK) {
      fail(kBadJson, status == PARSE_DUPLICATE ? kMsgDuplicate : status == PARSE_TOO_MANY ? kMsgTooMany : kMsgNotFlat);
      return LINE_DONE;
    }
  }
  if (letter == 'r') {
    if (!body.onlyKeys(0, 0)) {
      fail(kBadConfig, kMsgUnexpected);
      return LINE_DONE;
    }
    rules_.powerDown(now);
    return LINE_RESET;
  }
  if (command(letter, body, now)) rules_.feedDeadman(now);
  return LINE_DONE;
}

// -- commands -----------------------------------------------------------------------------------

bool Board::command(char letter, const JsonObject& body, uint32_t now) {
  if (letter == 'c') return configure(body);
  if (letter == 'o') return setOutput(body, now);
  if (letter == 'w') {
    const FlashText keys[] = {kS};
    int32_t seconds = 0;
    if (!body.onlyKeys(keys, 1)) return fail(kBadConfig, kMsgUnexpected);
    if (!jsonInteger(body.find(kS), seconds) || seconds < DEADMAN_MIN_S || seconds > DEADMAN_MAX_S) {
      return fail(kBadConfig, kMsgDeadman);
    }
    rules_.armDeadman(static_cast<uint16_t>(seconds));
    out_.begin('W');
    out_.open();
    out_.key(kS);
    out_.integer(seconds);
    out_.close();
    send();
    return true;
  }
  if (!body.onlyKeys(0, 0)) return fail(kBadConfig, kMsgUnexpected);
  if (letter == 'n') {
    identify();
  } else if (letter == 'h') {
    scan();
  } else {
    read(now);
  }
  return true;
}

bool Board::slotNumber(const JsonObject& body, uint8_t& slot) {
  int32_t value = 0;
  if (!jsonInteger(body.find(kSlot), value) || value < 1 || value > MAX_SLOTS) return fail(kBadSlot, kMsgSlot);
  slot = static_cast<uint8_t>(value);
  return true;
}

bool Board::configure(const JsonObject& body) {
  uint8_t slot = 0;
  if (!slotNumber(body, slot)) return false;
  const JsonField* kind = body.find(kKind);
  SlotConfig config;
  config.kind = KIND_NONE;
  if (kind != 0 && kind->type == JSON_STRING && sameText(kind->value, kind->valueLength, kSensor)) {
    const FlashText keys[] = {kSlot, kKind, kOnewire, kOffset};
    if (!body.onlyKeys(keys, 4)) return fail(kBadConfig, kMsgUnexpected);
    const JsonField* rom = body.find(kOnewire);
    if (rom == 0 || rom->type != JSON_STRING || rom->valueLength != 16) return fail(kBadConfig, kMsgOnewire);
    for (uint8_t i = 0; i < 16; ++i) {
      char c = rom->value[i];
      int8_t digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) return fail(kBadConfig, kMsgOnewire);
      if (i % 2 == 0) {
        config.sensor.rom[i / 2] = static_cast<uint8_t>(digit << 4);
      } else {
        config.sensor.rom[i / 2] = static_cast<uint8_t>(config.sensor.rom[i / 2] | digit);
      }
    }
    int32_t offset = 0;
    const JsonField* field = body.find(kOffset);
    if (field != 0 && (!jsonFixed(field, 2, offset) || offset < -MAX_OFFSET_C100 || offset > MAX_OFFSET_C100)) {
      return fail(kBadConfig, kMsgOffset);
    }
    config.kind = KIND_SENSOR;
    config.sensor.offsetC100 = static_cast<int16_t>(offset);
  } else if (kind != 0 && kind->type == JSON_STRING && sameText(kind->value, kind->valueLength, kOutput)) {
    const FlashText keys[] = {kSlot, kKind, kPin, kInvert, kMinOn, kMinOff, kGroup, kDead};
    if (!body.onlyKeys(keys, 8)) return fail(kBadConfig, kMsgUnexpected);
    int32_t pin = 0;
    if (!jsonInteger(body.find(kPin), pin) || pin < 0 || pin > 255 || !rules_.isBoardPin(static_cast<uint8_t>(pin))) {
      return fail(kBadConfig, kMsgPin);
    }
    bool invert = false;
    const JsonField* field = body.find(kInvert);
    if (field != 0 && !jsonBool(field, invert)) return fail(kBadConfig, kMsgInvert);
    int32_t minOn = 0;
    int32_t minOff = 0;
    int32_t group = 0;
    int32_t dead = 0;
    if (!rangeField(body, kMinOn, 0, MAX_TIME_S, 0, minOn)) return fail(kBadConfig, kMsgMinOn);
    if (!rangeField(body, kMinOff, 0, MAX_TIME_S, 0, minOff)) return fail(kBadConfig, kMsgMinOff);
    if (!rangeField(body, kGroup, 0, MAX_GROUP, 0, group)) return fail(kBadConfig, kMsgGroup);
    if (!rangeField(body, kDead, 0, MAX_TIME_S, 0, dead)) return fail(kBadConfig, kMsgDead);
    config.kind = KIND_OUTPUT;
    config.output.pin = static_cast<uint8_t>(pin);
    config.output.invert = invert;
    config.output.group = static_cast<uint8_t>(group);
    config.output.minOnS = static_cast<uint32_t>(minOn);
    config.output.minOffS = static_cast<uint32_t>(minOff);
    config.output.deadS = static_cast<uint32_t>(dead);
  } else if (kind != 0 && kind->type == JSON_STRING && sameText(kind->value, kind->valueLength, kInput)) {
    const FlashText keys[] = {kSlot, kKind, kPin, kInvert};
    if (!body.onlyKeys(keys, 4)) return fail(kBadConfig, kMsgUnexpected);
    int32_t pin = 0;
    if (!jsonInteger(body.find(kPin), pin) || pin < 0 || pin > 255 || !rules_.isBoardPin(static_cast<uint8_t>(pin))) {
      return fail(kBadConfig, kMsgPin);
    }
    bool invert = false;
    const JsonField* field = body.find(kInvert);
    if (field != 0 && !jsonBool(field, invert)) return fail(kBadConfig, kMsgInvert);
    config.kind = KIND_INPUT;
    config.input.pin = static_cast<uint8_t>(pin);
    config.input.invert = invert;
  } else if (kind != 0 && kind->type == JSON_STRING && sameText(kind->value, kind->valueLength, kNone)) {
    const FlashText keys[] = {kSlot, kKind};
    if (!body.onlyKeys(keys, 2)) return fail(kBadConfig, kMsgUnexpected);
  } else {
    return fail(kBadConfig, kMsgKind);
  }
  bool changed = !sameConfig(rules_.slot(slot), config);
  uint8_t other = 0;
  switch (rules_.configure(slot, config, other)) {
    case CONFIG_PIN_USED:
      startError(kBadConfig);
      out_.text(kMsgPinWord);
      out_.number(config.kind == KIND_INPUT ? config.input.pin : config.output.pin);
      out_.text(kMsgUsedBy);
      out_.number(other);
      endError();
      return false;
    case CONFIG_TOO_MANY_OUTPUTS:
      return fail(kBadConfig, kMsgTooManyOutputs);
    case CONFIG_OUTPUT_ON:
      return failNumbered(kBadConfig, kMsgSlotWord, slot, kMsgIsOn);
    case CONFIG_OK:
      break;
  }
  if (changed) {
    uint8_t image[CONFIG_BYTES];
    io_.saveConfig(image, exportConfig(image));
  }
  out_.begin('C');
  writeSlot(slot);
  send();
  return true;
}

bool Board::setOutput(const JsonObject& body, uint32_t now) {
  uint8_t slot = 0;
  if (!slotNumber(body, slot)) return false;
  if (rules_.slot(slot).kind != KIND_OUTPUT) return failNumbered(kBadSlot, kMsgSlotWord, slot, kMsgNotOutput);
  const FlashText keys[] = {kSlot, kOn};
  if (!body.onlyKeys(keys, 2)) return fail(kBadConfig, kMsgUnexpected);
  bool on = false;
  if (!jsonBool(body.find(kOn), on)) return fail(kBadConfig, kMsgOn);
  rules_.request(slot, on, now);
  out_.begin('O');
  out_.open();
  out_.key(kSlot);
  out_.integer(slot);
  writeHold(slot, now, rules_.outputOn(slot) != on);
  out_.close();
  send();
  return true;
}

void Board::identify() {
  out_.begin('N');
  out_.open();
  out_.key(kFw);
  out_.string(kMaelstrom);
  out_.key(kV);
  out_.string(info_.version);
  out_.key(kProto);
  out_.integer(1);
  out_.key(kBoard);
  out_.string(info_.name);
  out_.key(kUptime);
  out_.integer(static_cast<int32_t>(rules_.uptimeSeconds()));
  out_.close();
  send();
}

void Board::scan() {
  uint8_t roms[MAX_ROMS_LISTED][8];
  uint8_t found = io_.findSensors(roms, MAX_ROMS_LISTED);
  out_.begin('H');
  out_.open();
  out_.key(kOnewire);
  out_.openArray();
  for (uint8_t i = 0; i < found && i < MAX_ROMS_LISTED; ++i) {
    out_.item();
    writeRom(roms[i]);
  }
  out_.closeArray();
  out_.key(kPins);
  out_.openArray();
  for (uint8_t i = 0; i < rules_.pinCount(); ++i) {
    out_.item();
    out_.integer(rules_.pins()[i]);
  }
  out_.closeArray();
  out_.close();
  send();
}

void Board::read(uint32_t now) {
  out_.begin('T');
  out_.open();
  out_.key(kS);
  out_.open();
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    const SlotConfig& config = rules_.slot(n);
    if (config.kind != KIND_SENSOR) continue;
    int32_t hundredths = 0;
    out_.slotKey(n);
    if (rules_.sensorValue(io_.readSensor(config.sensor.rom), config.sensor.offsetC100, hundredths)) {
      out_.fixed(hundredths, 2);
    } else {
      out_.null();
    }
  }
  out_.close();
  out_.key(kO);
  out_.open();
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    if (rules_.slot(n).kind != KIND_OUTPUT) continue;
    out_.slotKey(n);
    out_.open();
    writeHold(n, now, false);
    out_.close();
  }
  out_.close();
  bool inputs = false;  // "i" only when an input is configured: the reply protocol.md §5 shows
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    const SlotConfig& config = rules_.slot(n);
    if (config.kind != KIND_INPUT) continue;
    if (!inputs) {
      out_.key(kI);
      out_.open();
      inputs = true;
    }
    out_.slotKey(n);
    out_.boolean(inputActive(config.input, io_.readPin(config.input.pin)));
  }
  if (inputs) out_.close();
  out_.close();
  send();
}

void Board::writeHold(uint8_t slot, uint32_t now, bool withWhy) {
  Hold hold = rules_.hold(slot, now);
  out_.key(kOn);
  out_.boolean(rules_.outputOn(slot));
  if (withWhy) {
    out_.key(kWhy);
    out_.string(whyText(hold.why));
  }
  out_.key(kHold);
  out_.integer(static_cast<int32_t>(ceilSeconds(hold.ms)));
}

void Board::writeSlot(uint8_t slot) {
  const SlotConfig& config = rules_.slot(slot);
  out_.open();
  out_.key(kSlot);
  out_.integer(slot);
  out_.key(kKind);
  if (config.kind == KIND_SENSOR) {
    out_.string(kSensor);
    out_.key(kOnewire);
    writeRom(config.sensor.rom);
    out_.key(kOffset);
    out_.fixed(config.sensor.offsetC100, 2);
  } else if (config.kind == KIND_INPUT) {
    out_.string(kInput);
    out_.key(kPin);
    out_.integer(config.input.pin);
    out_.key(kInvert);
    out_.boolean(config.input.invert);
  } else if (config.kind == KIND_OUTPUT) {
    out_.string(kOutput);
    out_.key(kPin);
    out_.integer(config.output.pin);
    out_.key(kInvert);
    out_.boolean(config.output.invert);
    out_.key(kMinOn);
    out_.integer(static_cast<int32_t>(config.output.minOnS));
    out_.key(kMinOff);
    out_.integer(static_cast<int32_t>(config.output.minOffS));
    out_.key(kGroup);
    out_.integer(config.output.group);
    out_.key(kDead);
    out_.integer(static_cast<int32_t>(config.output.deadS));
  } else {
    out_.string(kNone);
  }
  out_.close();
}

void Board::writeRom(const uint8_t rom[8]) {
  char hex[16];
  for (uint8_t i = 0; i < 8; ++i) {
    hex[2 * i] = "0123456789ABCDEF"[rom[i] >> 4];
    hex[2 * i + 1] = "0123456789ABCDEF"[rom[i] & 0x0F];
  }
  out_.stringRaw(hex, 16);
}

// -- errors -------------------------------------------------------------------------------------

void Board::startError(FlashText code) {
  out_.begin('E');
  out_.open();
  out_.key(kCode);
  out_.string(code);
  out_.key(kMsg);
  out_.beginString();
}

void Board::endError() {
  out_.endString();
  out_.close();
  send();
}

bool Board::fail(FlashText code, FlashText message) {
  startError(code);
  out_.text(message);
  endError();
  return false;
}

bool Board::failNumbered(FlashText code, FlashText before, uint8_t number, FlashText after) {
  startError(code);
  out_.text(before);
  out_.number(number);
  out_.text(after);
  endError();
  return false;
}

void Board::send() {
  out_.finish();
  io_.sendLine(out_.line(), out_.length());
}

}  // namespace maelstrom
