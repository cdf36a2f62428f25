"""The chaos suite: steady load against a stack of separate processes on a private RabbitMQ node (or a
private three-node cluster), one named fault mid-load, then the drain and an audit of every request.
`huiying chaos --help`; the faults are in `huiying.chaos.faults`."""
