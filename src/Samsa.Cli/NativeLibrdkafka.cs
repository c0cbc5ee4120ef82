using Samsa.Native;

namespace Samsa.Cli;

/// <summary>The CLI's client side: Confluent.Kafka over <see cref="CentOs8Librdkafka"/>, a failure reported as one line.</summary>
internal static class NativeLibrdkafka
{
    public static void EnsureLoaded()
    {
        try
        {
            CentOs8Librdkafka.EnsureLoaded();
        }
        catch (InvalidOperationException e)
        {
            throw new CommandException(e.Message);
        }
    }
}

/// <summary>A failure the command reports as one line and exit code 1.</summary>
internal sealed class CommandException(string message) : Exception(message);
