using System.Runtime.CompilerServices;

// Tests drive the connection quotas (internal to the socket server) on a fake clock.
[assembly: InternalsVisibleTo("Samsa.Broker.Tests")]
