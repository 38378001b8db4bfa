// What every cmdlet file uses: the PowerShell API, non-generic collections (hashtables) and the engine.
global using System.Collections;
global using System.Management.Automation;
global using Flowstore.Engine;
