// Maelstrom board firmware for the Spark Core / Particle Photon.
//
// A TCP server on port 6666 (one client at a time; a new client replaces the old one) and,
// as a fallback, USB serial at 57600 baud; relays and switch inputs on D1-D6; DS18B20 probes
// on D0 (4.7 kOhm pull-up to 3.3 V); slot configuration in the emulated EEPROM; the
// application watchdog where Device OS has one. Every rule lives in the core (../core);
// see ../README.md.
#include "Particle.h"

#include "maelstrom_board.h"
#include "sensor_bus.h"

SYSTEM_MODE(SEMI_AUTOMATIC);  // run the board whether or not the cloud is reachable
STARTUP(System.enableFeature(FEATURE_RESET_INFO));
#if PLATFORM_ID != 0
STARTUP(System.enableFeature(FEATURE_RETAINED_MEMORY));
#endif

namespace {

const uint8_t ONE_WIRE_PIN = D0;
const uint8_t OUTPUT_PINS[] = {D1, D2, D3, D4, D5, D6};
const uint16_t TCP_PORT = 6666;
const int EEPROM_ADDRESS = 0;
const uint32_t BY_COMMAND = 0x52535431;  // `r` asked for the reset
const uint32_t BY_WATCHDOG = 0x57444f47;  // the loop stopped: the application watchdog fired

MAELSTROM_TEXT(kBoardName, "spark");
MAELSTROM_TEXT(kVersion, "1.0.0");

}  // namespace

retained uint32_t resetCause;

namespace {

SensorBus sensors(ONE_WIRE_PIN);
TCPServer server(TCP_PORT);
TCPClient client;

enum Channel { CHANNEL_ALL, CHANNEL_SERIAL, CHANNEL_TCP };
Channel replyTo = CHANNEL_ALL;  // replies go where the command came from; B: and D: go everywhere

class SparkIo : public maelstrom::BoardIo {
 public:
  void drivePin(uint8_t pin, bool high) {
    digitalWrite(pin, high ? HIGH : LOW);
    pinMode(pin, OUTPUT);
  }
  void releasePin(uint8_t pin) { pinMode(pin, INPUT); }
  void inputPin(uint8_t pin) { pinMode(pin, INPUT_PULLUP); }  // a switch to GND closes it
  bool readPin(uint8_t pin) { return digitalRead(pin) == HIGH; }
  void outputChanged(uint32_t, uint8_t, uint8_t, bool) {}
  maelstrom::SensorSample readSensor(const uint8_t rom[8]) { return sensors.sample(rom); }
  uint8_t findSensors(uint8_t roms[][8], uint8_t max) { return sensors.search(roms, max); }
  void sendLine(const char* line, uint16_t length) {
    if (replyTo != CHANNEL_TCP) Serial.write(reinterpret_cast<const uint8_t*>(line), length);
    if (replyTo != CHANNEL_SERIAL && client.connected()) client.write(reinterpret_cast<const uint8_t*>(line), length);
  }
  void saveConfig(const uint8_t* data, uint16_t length) {
    for (uint16_t i = 0; i < length; ++i) {
      if (EEPROM.read(EEPROM_ADDRESS + i) != data[i]) EEPROM.write(EEPROM_ADDRESS + i, data[i]);
    }
  }
};

SparkIo io;
const maelstrom::BoardInfo info = {kBoardName, kVersion, OUTPUT_PINS, sizeof(OUTPUT_PINS)};
maelstrom::Board board(info, io);

// One line reader per channel.
struct LineReader {
  char text[maelstrom::MAX_LINE + 1];
  uint16_t length;
  bool tooLong;
};
LineReader serialLine = {{0}, 0, false};
LineReader tcpLine = {{0}, 0, false};

void resetNow(uint32_t cause) {
  resetCause = cause;
  System.reset();
}

void watchdogFired() { resetNow(BY_WATCHDOG); }

#if PLATFORM_ID != 0
ApplicationWatchdog* watchdog = 0;
#endif

maelstrom::BootReason bootReason() {
  int reason = System.resetReason();
  uint32_t cause = resetCause;
  resetCause = 0;
  if (reason == RESET_REASON_WATCHDOG || (reason == RESET_REASON_USER && cause == BY_WATCHDOG)) {
    return maelstrom::BOOT_WATCHDOG;
  }
  if (reason == RESET_REASON_USER || reason == RESET_REASON_PIN_RESET) return maelstrom::BOOT_RESET;
  return maelstrom::BOOT_POWER;
}

void feed(LineReader& reader, char c, Channel channel) {
  if (c != '\n') {
    if (reader.length < sizeof(reader.text)) {
      reader.text[reader.length++] = c;
    } else {
      reader.tooLong = true;
    }
    return;
  }
  uint32_t now = millis();
  replyTo = channel;
  if (reader.tooLong) {
    board.lineTooLong(now);
  } else if (board.handleLine(reader.text, reader.length, now) == maelstrom::LINE_RESET) {
    resetNow(BY_COMMAND);
  }
  replyTo = CHANNEL_ALL;
  reader.length = 0;
  reader.tooLong = false;
}

}  // namespace

void setup() {
  maelstrom::BootReason reason = bootReason();
  Serial.begin(57600);
  uint8_t image[maelstrom::CONFIG_BYTES];
  for (uint16_t i = 0; i < sizeof(image); ++i) image[i] = EEPROM.read(EEPROM_ADDRESS + i);
  board.loadConfig(image, sizeof(image));
  sensors.begin(millis());
  board.boot(millis(), reason);
  WiFi.connect();
  server.begin();
#if PLATFORM_ID != 0
  watchdog = new ApplicationWatchdog(4000, watchdogFired);  // once, at start-up
#endif
}

void loop() {
  uint32_t now = millis();
  sensors.poll(now);
  board.poll(now);
  while (Serial.available() > 0) feed(serialLine, static_cast<char>(Serial.read()), CHANNEL_SERIAL);
  TCPClient incoming = server.available();
  if (incoming.connected()) {
    if (client.connected()) client.stop();  // one client at a time: the newest wins
    client = incoming;
    tcpLine.length = 0;
    tcpLine.tooLong = false;
  }
  while (client.connected() && client.available() > 0) feed(tcpLine, static_cast<char>(client.read()), CHANNEL_TCP);
#if PLATFORM_ID != 0
  ApplicationWatchdog::checkin();
#endif
}
