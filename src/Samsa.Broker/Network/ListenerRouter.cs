namespace Samsa.Broker.Network;

/// <summary>
/// Sends each connection's requests to the handler of its listener's kind, as Kafka runs <c>ControllerApis</c> on
/// controller listeners and <c>KafkaApis</c> on the others.
/// </summary>
public sealed class ListenerRouter(IRequestHandler broker, IRequestHandler controller, IReadOnlyCollection<string> controllerListenerNames) : IRequestHandler
{
    public ValueTask<IResponseFrame?> HandleAsync(ConnectionContext connection, ReadOnlyMemory<byte> request, CancellationToken cancellationToken) =>
        controllerListenerNames.Contains(connection.ListenerName)
            ? controller.HandleAsync(connection, request, cancellationToken)
            : broker.HandleAsync(connection, request, cancellationToken);
}
