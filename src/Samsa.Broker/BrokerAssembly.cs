namespace Samsa.Broker;

/// <summary>Marker for the broker room.</summary>
public static class BrokerAssembly;
