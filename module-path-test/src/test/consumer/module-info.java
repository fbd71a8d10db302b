/** An application module that uses durablechat from the module path. */
module durablechat.consumer {
  requires dev.durablechat.api;
  requires dev.durablechat.core;
}
