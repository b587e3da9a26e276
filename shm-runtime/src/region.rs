//! Open/create/validate/map (stub being replaced).
#![allow(missing_docs, dead_code, clippy::all)]
use crate::{Result, SharedState};
use std::marker::PhantomData;
use std::path::Path;

#[derive(Debug)]
pub struct OpenOptions<T: SharedState> {
    _t: PhantomData<T>,
}
impl<T: SharedState> OpenOptions<T> {
    pub fn new() -> Self {
        OpenOptions { _t: PhantomData }
    }
    pub fn create(self, _: bool) -> Self { self }
    pub fn create_new(self, _: bool) -> Self { self }
    pub fn mode(self, _: u32) -> Self { self }
    pub fn initial(self, _: T) -> Self { self }
    pub fn open_file<P: AsRef<Path>>(&self, _path: P) -> Result<Shared<T>> { todo!() }
    pub fn open_shm(&self, _name: &str) -> Result<Shared<T>> { todo!() }
}
#[derive(Debug)]
pub struct Shared<T: SharedState> {
    _t: PhantomData<T>,
}
impl<T: SharedState> std::ops::Deref for Shared<T> {
    type Target = T::View;
    fn deref(&self) -> &T::View { todo!() }
}
pub fn remove_shm(_name: &str) -> Result<()> { todo!() }
