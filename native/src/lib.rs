//! isomq: brokerless messaging in the ZeroMQ tradition.
