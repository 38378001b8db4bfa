using System.Net;
using System.Net.Sockets;

namespace Flowstore.TestSupport;

/// <summary>Ports on 127.0.0.1 for servers a test starts itself (or for addresses where nothing must listen).</summary>
public static class Ports
{
    /// <summary>A port no one listens on right now (the system's pick; free until someone takes it).</summary>
    public static int Free()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
